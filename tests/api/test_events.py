from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import add_event, invite_member, new_org, ok, person_id_of, problem_type


def test_event_times_are_stored_in_utc_and_shown_in_the_organisation_time_zone(client):
    org = new_org(client, timezone="America/New_York")
    event = ok(
        org.post(
            "/api/v1/events",
            json={
                "title": "Summer",
                "starts_at": "2031-07-06T10:00:00-04:00",
                "ends_at": "2031-07-06T12:00:00-04:00",
            },
        ),
        201,
    )
    assert event["starts_at"] == "2031-07-06T14:00:00Z"
    assert event["starts_at_local"] == "2031-07-06T10:00:00-04:00"
    winter = ok(
        org.post(
            "/api/v1/events",
            json={
                "title": "Winter",
                "starts_at": "2031-01-05T15:00:00Z",
                "ends_at": "2031-01-05T17:00:00Z",
            },
        ),
        201,
    )
    assert winter["starts_at_local"] == "2031-01-05T10:00:00-05:00"


def test_naive_or_reversed_event_times_are_rejected(client):
    org = new_org(client)
    naive = org.post(
        "/api/v1/events",
        json={
            "title": "Naive",
            "starts_at": "2031-01-05T15:00:00",
            "ends_at": "2031-01-05T17:00:00",
        },
    )
    assert naive.status_code == 422
    reversed_ = org.post(
        "/api/v1/events",
        json={
            "title": "Back",
            "starts_at": "2031-01-05T17:00:00Z",
            "ends_at": "2031-01-05T15:00:00Z",
        },
    )
    assert reversed_.status_code == 422
    duplicate_roles = org.post(
        "/api/v1/events",
        json={
            "title": "Dup",
            "starts_at": "2031-01-05T15:00:00Z",
            "ends_at": "2031-01-05T17:00:00Z",
            "slots": [{"role": "usher", "capacity": 1}, {"role": "usher", "capacity": 2}],
        },
    )
    assert duplicate_roles.status_code == 422


def test_events_are_listed_in_start_order_filtered_and_paginated(client):
    org = new_org(client)
    ids = [add_event(org, starts_in=timedelta(days=d))["id"] for d in (9, 3, 6)]
    add_event(org, status="draft", starts_in=timedelta(days=1))
    page = ok(org.get("/api/v1/events", params={"status": "published", "limit": 2}))
    assert page["total"] == 3
    assert [e["id"] for e in page["items"]] == [ids[1], ids[2]]
    rest = ok(org.get("/api/v1/events", params={"status": "published", "limit": 2, "offset": 2}))
    assert [e["id"] for e in rest["items"]] == [ids[0]]
    bad = org.get("/api/v1/events", params={"limit": 0})
    assert bad.status_code == 422


def test_volunteers_do_not_see_draft_events(client):
    org = new_org(client)
    draft = add_event(org, status="draft")
    published = add_event(org)
    volunteer = invite_member(org)
    listed = ok(volunteer.get("/api/v1/events"))
    assert [e["id"] for e in listed["items"]] == [published["id"]]
    assert volunteer.get(f"/api/v1/events/{draft['id']}").status_code == 404


def test_an_events_assignments_are_shown_to_whoever_may_see_the_event(client):
    """The listing proves the event with its rows and asks about it only when the page is
    empty: each answer below must come out the same either way."""
    org = new_org(client)
    draft = add_event(org, status="draft", slots=[{"role": "usher", "capacity": 2}])
    empty = add_event(org)
    volunteer = invite_member(org, roles=["usher"])
    placed = {"person_id": person_id_of(volunteer), "role": "usher"}
    ok(org.post(f"/api/v1/events/{draft['id']}/assignments", json=placed), 201)
    assert ok(org.get(f"/api/v1/events/{draft['id']}/assignments"))["total"] == 1
    assert ok(org.get(f"/api/v1/events/{draft['id']}/assignments?offset=5"))["items"] == []
    assert volunteer.get(f"/api/v1/events/{draft['id']}/assignments").status_code == 404
    assert ok(volunteer.get(f"/api/v1/events/{empty['id']}/assignments"))["total"] == 0
    unknown = org.get(f"/api/v1/events/{draft['id'] + empty['id']}/assignments")
    assert problem_type(unknown, 404).endswith("/not-found"), unknown.text


def test_slots_can_grow_but_not_shrink_below_signups(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    volunteer = invite_member(org, roles=["usher"])
    ok(volunteer.post(f"/api/v1/events/{event['id']}/signups", json={"role": "usher"}), 201)
    grown = ok(
        org.patch(
            f"/api/v1/events/{event['id']}",
            json={"slots": [{"role": "usher", "capacity": 1}, {"role": "greeter", "capacity": 3}]},
        )
    )
    assert {(s["role"], s["capacity"], s["filled"]) for s in grown["slots"]} == {
        ("usher", 1, 1),
        ("greeter", 3, 0),
    }
    refused = org.patch(
        f"/api/v1/events/{event['id']}", json={"slots": [{"role": "greeter", "capacity": 3}]}
    )
    assert refused.status_code == 409


def test_deleting_an_event_removes_its_assignments(client):
    org = new_org(client)
    event = add_event(org)
    volunteer = invite_member(org, roles=["usher"])
    ok(volunteer.post(f"/api/v1/events/{event['id']}/signups", json={"role": "usher"}), 201)
    assert org.delete(f"/api/v1/events/{event['id']}").status_code == 204
    assert org.get(f"/api/v1/events/{event['id']}").status_code == 404
    assert ok(org.get("/api/v1/assignments"))["total"] == 0


def _event_body(starts_at, ends_at, **extra):
    return {"title": "Retreat", "starts_at": starts_at, "ends_at": ends_at, **extra}


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "code"),
    [
        ("2031-01-05T17:00:00Z", "2031-01-05T15:00:00Z", "event.ends_before_start"),
        ("2031-01-05T15:00:00Z", "2031-01-05T15:00:00Z", "event.ends_before_start"),
        ("2031-01-01T00:00:00Z", "2031-01-15T00:00:01Z", "event.too_long"),
        ("2031-01-01T00:00:00Z", "2031-03-16T00:00:00Z", "event.too_long"),
    ],
)
def test_create_refuses_an_event_that_ends_too_soon_or_too_late(client, starts_at, ends_at, code):
    org = new_org(client)
    response = org.post("/api/v1/events", json=_event_body(starts_at, ends_at))
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["code"] == code
    assert ok(org.get("/api/v1/events"))["total"] == 0


def test_an_event_may_last_exactly_fourteen_days(client):
    org = new_org(client)
    body = _event_body("2031-01-01T00:00:00Z", "2031-01-15T00:00:00Z")
    ok(org.post("/api/v1/events", json=body), 201)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ends_at": "2031-03-16T10:00:00Z"}, "event.too_long"),  # 74 days
        ({"starts_at": "2030-12-01T10:00:00Z"}, "event.too_long"),
        ({"ends_at": "2031-01-01T09:00:00Z"}, "event.ends_before_start"),
        ({"starts_at": "2031-01-01T12:00:00Z"}, "event.ends_before_start"),
        (
            {"starts_at": "2031-02-01T10:00:00Z", "ends_at": "2031-02-20T10:00:00Z"},
            "event.too_long",
        ),
    ],
)
def test_an_update_is_held_to_the_rules_of_create(client, change, code):
    org = new_org(client)
    event = ok(
        org.post(
            "/api/v1/events", json=_event_body("2031-01-01T10:00:00Z", "2031-01-01T12:00:00Z")
        ),
        201,
    )
    response = org.patch(f"/api/v1/events/{event['id']}", json=change)
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["code"] == code
    after = ok(org.get(f"/api/v1/events/{event['id']}"))
    assert (after["starts_at"], after["ends_at"]) == (event["starts_at"], event["ends_at"])


def test_an_update_may_move_both_ends_of_an_event(client):
    org = new_org(client)
    event = ok(
        org.post(
            "/api/v1/events", json=_event_body("2031-01-01T10:00:00Z", "2031-01-01T12:00:00Z")
        ),
        201,
    )
    moved = ok(
        org.patch(
            f"/api/v1/events/{event['id']}",
            json={"starts_at": "2031-03-01T10:00:00Z", "ends_at": "2031-03-14T10:00:00Z"},
        )
    )
    assert (moved["starts_at"], moved["ends_at"]) == (
        "2031-03-01T10:00:00Z",
        "2031-03-14T10:00:00Z",
    )
