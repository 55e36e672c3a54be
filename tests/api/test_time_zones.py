"""An organisation's time zone is an IANA time zone name, the same list on every host:
not the host's own files next to the zones (localtime, posixrules, the posix/ and right/
copies) and not the database's placeholder Factory."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, new_org, ok, problem_type, unique

API = "/api/v1"
NOT_PLACES = ["localtime", "Factory", "posixrules", "posix/Europe/London", "right/UTC", "zone.tab"]


def _signup(client, timezone):
    slug = unique("org")
    return client.post(
        f"{API}/auth/signup",
        json={
            "organisation_name": "Org",
            "slug": slug,
            "timezone": timezone,
            "name": "Admin",
            "email": f"admin@{slug}.example.org",
            "password": PASSWORD,
        },
    )


@pytest.mark.parametrize("timezone", NOT_PLACES)
def test_sign_up_refuses_a_time_zone_that_is_not_a_place(client, timezone):
    response = _signup(client, timezone)
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["errors"][0]["loc"] == ["body", "timezone"]


@pytest.mark.parametrize("timezone", NOT_PLACES)
def test_an_organisation_cannot_move_to_a_time_zone_that_is_not_a_place(client, timezone):
    org = new_org(client, timezone="Europe/Madrid")
    response = org.patch(f"{API}/organisation", json={"timezone": timezone})
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert ok(org.get(f"{API}/organisation"))["timezone"] == "Europe/Madrid"


@pytest.mark.parametrize(
    "timezone", ["Europe/Kyiv", "Europe/Kiev", "US/Eastern", "Etc/GMT+5", "UTC"]
)
def test_current_and_backward_compatible_iana_names_are_accepted(client, timezone):
    ok(_signup(client, timezone), 202)
    org = new_org(client)
    assert ok(org.patch(f"{API}/organisation", json={"timezone": timezone}))["timezone"] == timezone
