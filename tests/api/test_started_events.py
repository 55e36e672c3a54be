"""The past is not editable by volunteers: once an event has started (in progress or over),
every volunteer-facing write to its assignments, waitlists and swap offers is refused with
409 `event-started` and changes nothing; schedulers and admins may still correct the record,
and the correction is audited.

The routes under the rule are found by asking the running app as a volunteer: every write
route about assignments, sign-ups, waitlists or swaps that does not refuse volunteers by role
must have a case in `CASES`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import Org, add_event, invite_member, new_org, ok, person_id_of

API = "/api/v1"
MISSING_ID = 9_007_199_254_740_000
ABOUT_EVENT_PARTS = re.compile(r"assignments|signups|waitlist|swap")


@dataclass
class Started:
    """A volunteer and a colleague in an organisation, and a published event that will have
    started by the time `as_volunteer` runs (see `move`)."""

    org: Org
    volunteer: Org
    colleague: Org
    event: dict[str, Any]


@dataclass
class Case:
    """What one route does to a started event. `setup` runs while the event is still ahead
    and returns the path of the call; `state` is what the refused call must leave unchanged;
    `correction`, the staff's way to make the same change (if there is one), and the audit
    entry (entity, action) it leaves."""

    setup: Callable[[Started], str]
    body: dict[str, Any] | None
    state: Callable[[Started], Any]
    correction: Callable[[Started, str], Any] | None = None
    audited: tuple[str, str] | None = None


def _signed_up(world: Started, member: Org | None = None) -> dict[str, Any]:
    member = member or world.volunteer
    event_id = world.event["id"]
    signup = ok(member.post(f"{API}/events/{event_id}/signups", json={"role": "usher"}), 201)
    return dict(signup)


def _pending(world: Started) -> dict[str, Any]:
    body = {"person_id": person_id_of(world.volunteer), "role": "usher"}
    return dict(ok(world.org.post(f"{API}/events/{world.event['id']}/assignments", json=body), 201))


def _waiting(world: Started) -> dict[str, Any]:
    entry = world.volunteer.post(f"{API}{_full(world)}", json={"role": "usher"})
    return dict(ok(entry, 201))


def _full(world: Started) -> str:
    _signed_up(world, world.colleague)  # the slot holds one place
    return f"/events/{world.event['id']}/waitlist"


def _offered(world: Started, member: Org) -> dict[str, Any]:
    assignment = _signed_up(world, member)
    return dict(ok(member.post(f"{API}/assignments/{assignment['id']}/swap-offers", json={}), 201))


def _assignments(world: Started) -> Any:
    return ok(world.org.get(f"{API}/events/{world.event['id']}/assignments"))["items"]


def _waitlist(world: Started) -> Any:
    return ok(world.org.get(f"{API}/events/{world.event['id']}/waitlist"))["items"]


def _swaps(world: Started) -> Any:
    return ok(world.org.get(f"{API}/swaps"))["items"], _assignments(world)


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/events/{event_id}/signups"): Case(
        setup=lambda w: f"/events/{w.event['id']}/signups",
        body={"role": "usher"},
        state=_assignments,
        # Staff put someone on a past event by assigning them.
        correction=lambda w, _: _pending(w),
        audited=("assignment", "assign"),
    ),
    ("POST", "/events/{event_id}/waitlist"): Case(
        setup=_full,
        body={"role": "usher"},
        state=_waitlist,
    ),
    ("DELETE", "/waitlist/{waitlist_entry_id}"): Case(
        setup=lambda w: f"/waitlist/{_waiting(w)['id']}",
        body=None,
        state=_waitlist,
        correction=lambda w, path: ok(w.org.delete(f"{API}{path}"), 204),
        audited=("waitlist_entry", "leave"),
    ),
    ("DELETE", "/assignments/{assignment_id}"): Case(
        setup=lambda w: f"/assignments/{_signed_up(w)['id']}",
        body=None,
        state=_assignments,
        correction=lambda w, path: ok(w.org.delete(f"{API}{path}"), 204),
        audited=("assignment", "cancel"),
    ),
    ("POST", "/assignments/{assignment_id}/accept"): Case(
        setup=lambda w: f"/assignments/{_pending(w)['id']}/accept",
        body=None,
        state=_assignments,
        correction=lambda w, path: ok(w.org.post(f"{API}{path}")),
        audited=("assignment", "accept"),
    ),
    ("POST", "/assignments/{assignment_id}/decline"): Case(
        setup=lambda w: f"/assignments/{_pending(w)['id']}/decline",
        body=None,
        state=_assignments,
        correction=lambda w, path: ok(w.org.post(f"{API}{path}")),
        audited=("assignment", "decline"),
    ),
    # Swaps hand a shift on before it happens: after the start there is nothing to offer or
    # take, for staff either.
    ("POST", "/assignments/{assignment_id}/swap-offers"): Case(
        setup=lambda w: f"/assignments/{_signed_up(w)['id']}/swap-offers",
        body={"note": "away"},
        state=_swaps,
    ),
    ("POST", "/swaps/{swap_id}/take"): Case(
        setup=lambda w: f"/swaps/{_offered(w, w.colleague)['id']}/take",
        body={},
        state=_swaps,
    ),
    ("POST", "/swaps/{swap_id}/cancel"): Case(
        setup=lambda w: f"/swaps/{_offered(w, w.volunteer)['id']}/cancel",
        body=None,
        state=_swaps,
        correction=lambda w, path: ok(w.org.post(f"{API}{path}")),
        audited=("swap_request", "cancel"),
    ),
}

# In progress (started an hour ago), and over (yesterday).
MOMENTS = {"in_progress": timedelta(hours=-1), "over": timedelta(days=-1)}


def move(world: Started, starts_in: timedelta) -> None:
    starts = datetime.now(UTC).replace(microsecond=0) + starts_in
    times = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat()}
    ok(world.org.patch(f"{API}/events/{world.event['id']}", json=times))


def staff_only(response: Any) -> bool:
    return response.status_code == 403 and response.json().get("code") == "auth.role_required"


def test_every_volunteer_write_to_an_events_parts_has_a_case(
    app: FastAPI, client: TestClient
) -> None:
    volunteer = invite_member(new_org(client))
    found = set()
    for path, operations in app.openapi()["paths"].items():
        if not ABOUT_EVENT_PARTS.search(path):
            continue
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            url = path.format(**{name: MISSING_ID for name in names})
            response = volunteer.client.request(
                method.upper(), url, headers=volunteer.headers, json={}
            )
            if not staff_only(response):
                found.add((method.upper(), path.removeprefix(API)))
    assert found == set(CASES), "add a case for each route volunteers may call"


@pytest.mark.parametrize("moment", sorted(MOMENTS))
@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_volunteer_cannot_change_a_started_event(
    client: TestClient, route: tuple[str, str], moment: str
) -> None:
    case = CASES[route]
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}], starts_in=timedelta(days=2))
    world = Started(org, invite_member(org), invite_member(org), event)
    path = case.setup(world)
    move(world, MOMENTS[moment])
    before = case.state(world)

    refused = world.volunteer.client.request(
        route[0], f"{API}{path}", headers=world.volunteer.headers, json=case.body
    )

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert (problem["type"], problem["code"]) == ("/problems/event-started", "event.started")
    assert problem["params"]["event_id"] == event["id"]
    assert case.state(world) == before


@pytest.mark.parametrize(
    "route", sorted(r for r, c in CASES.items() if c.correction), ids=lambda r: f"{r[0]} {r[1]}"
)
def test_an_admin_corrects_a_past_event_and_the_correction_is_audited(
    client: TestClient, route: tuple[str, str]
) -> None:
    case = CASES[route]
    assert case.correction is not None
    assert case.audited is not None
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}], starts_in=timedelta(days=2))
    world = Started(org, invite_member(org), invite_member(org), event)
    path = case.setup(world)
    move(world, MOMENTS["over"])
    before = case.state(world)

    case.correction(world, path)

    assert case.state(world) != before
    entity, action = case.audited
    audit = ok(org.get(f"{API}/audit", params={"entity": entity}))["items"]
    assert audit[0]["action"] == action
    assert audit[0]["actor_user_id"] == ok(org.get(f"{API}/me"))["user_id"]


def test_a_volunteer_who_withdraws_from_a_finished_event_keeps_their_place_in_it(
    client: TestClient,
) -> None:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=timedelta(days=2))
    volunteer = invite_member(org)
    world = Started(org, volunteer, volunteer, event)
    assignment = _signed_up(world)
    move(world, MOMENTS["over"])
    assert volunteer.delete(f"{API}/assignments/{assignment['id']}").status_code == 409
    kept = ok(org.get(f"{API}/events/{event['id']}"))
    assert kept["slots"][0]["filled"] == 1
    assert [a["id"] for a in _assignments(world)] == [assignment["id"]]
    actions = [
        e["action"] for e in ok(org.get(f"{API}/audit", params={"entity": "assignment"}))["items"]
    ]
    assert actions == ["assign"]
