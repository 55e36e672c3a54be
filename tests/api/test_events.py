from __future__ import annotations

from datetime import timedelta

from tests.factories import add_event, invite_member, new_org, ok


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
