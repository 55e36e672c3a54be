"""Schedules through the API: solve a range into a draft, edit it, compare, publish,
unpublish, roll back; tenancy; publish racing self sign-ups never overfills."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import Org, add_event, add_person, invite_member, new_org, ok

API = "/api/v1"


def solve(org: Org, events: list[dict[str, Any]], **extra: Any) -> Any:
    starts = min(datetime.fromisoformat(e["starts_at"]) for e in events)
    ends = max(datetime.fromisoformat(e["ends_at"]) for e in events)
    body = {"starts_at": starts.isoformat(), "ends_at": ends.isoformat(), **extra}
    return ok(org.post(f"{API}/schedules/solve", json=body), 201)


def solver_assignments(org: Org, event: dict[str, Any]) -> set[tuple[int, int]]:
    items = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    return {(a["slot_id"], a["person_id"]) for a in items if a["source"] == "solver"}


def entries(schedule: dict[str, Any]) -> set[tuple[int, int]]:
    return {(e["slot_id"], e["person_id"]) for e in schedule["entries"]}


def unique_time(days: int) -> timedelta:
    # Each test's events at a time of their own: ranges never take in another test's events.
    import uuid

    return timedelta(days=days, seconds=uuid.uuid4().int % 5_000_000)


def test_solve_edit_and_publish_a_draft(client) -> None:
    org = new_org(client)
    ushers = [add_person(org, roles=["usher"], name=f"Usher {i}") for i in range(3)]
    first = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=unique_time(30))
    second = add_event(
        org,
        slots=[{"role": "usher", "capacity": 1}, {"role": "organist", "capacity": 1}],
        starts_in=unique_time(30) + timedelta(days=60),
    )
    draft = solve(org, [first, second])
    report = draft["report"]
    assert draft["status"] == "draft"
    assert (report["seats"], report["filled"], report["violations"]) == (4, 3, [])
    assert [u["reason"] for u in report["unfilled"]] == ["no_qualified_person"]
    assert report["fairness"]["max"] - report["fairness"]["min"] <= 1
    assert len(draft["entries"]) == 3
    assert {e["source"] for e in draft["entries"]} == {"solver"}
    assert ok(org.get(f"{API}/schedules/{draft['id']}")) == draft
    assert draft["id"] in [s["id"] for s in ok(org.get(f"{API}/schedules"))["items"]]

    organist_slot = next(s for s in second["slots"] if s["role"] == "organist")
    refused = org.post(
        f"{API}/schedules/{draft['id']}/entries",
        json={"slot_id": organist_slot["id"], "person_id": ushers[0]["id"]},
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["rule"] == "role"
    usher_slot = first["slots"][0]["id"]
    taken = {e["person_id"] for e in draft["entries"] if e["slot_id"] == usher_slot}
    free = next(u["id"] for u in ushers if u["id"] not in taken)
    full = org.post(
        f"{API}/schedules/{draft['id']}/entries", json={"slot_id": usher_slot, "person_id": free}
    )
    assert full.status_code == 409
    assert full.json()["rule"] == "capacity"
    removed = next(e for e in draft["entries"] if e["slot_id"] == usher_slot)
    ok(org.delete(f"{API}/schedules/{draft['id']}/entries/{removed['id']}"), 204)
    added = ok(
        org.post(
            f"{API}/schedules/{draft['id']}/entries",
            json={"slot_id": usher_slot, "person_id": free},
        ),
        201,
    )
    assert added["source"] == "edit"

    published = ok(org.post(f"{API}/schedules/{draft['id']}/publish"))
    assert published["schedule"]["status"] == "published"
    assert published["added"] == 3
    assert published["removed"] == 0
    final = ok(org.get(f"{API}/schedules/{draft['id']}"))
    assert solver_assignments(org, first) | solver_assignments(org, second) == entries(final)
    statuses = {a["status"] for a in ok(org.get(f"{API}/assignments"))["items"]}
    assert statuses == {"pending"}
    again = org.post(f"{API}/schedules/{draft['id']}/publish")
    assert again.status_code == 409
    audit = {
        e["action"] for e in ok(org.get(f"{API}/audit", params={"entity": "schedule"}))["items"]
    }
    assert audit >= {"solve", "add_entry", "remove_entry", "publish"}


def test_republishing_changes_only_what_differs_and_rollback_restores_the_earlier_one(
    client,
) -> None:
    org = new_org(client)
    people = [add_person(org, roles=["usher"], name=f"U{i}") for i in range(4)]
    events = [
        add_event(
            org,
            slots=[{"role": "usher", "capacity": 1}],
            starts_in=unique_time(90) + timedelta(days=60 * i),
        )
        for i in range(3)
    ]
    first = solve(org, events)
    ok(org.post(f"{API}/schedules/{first['id']}/publish"))
    second = solve(org, events)
    assert entries(second) == entries(first)  # minimal change: nothing had to move
    assert second["report"]["changes"]["kept"] == 3
    moved = second["entries"][0]
    ok(org.delete(f"{API}/schedules/{second['id']}/entries/{moved['id']}"), 204)
    busy = {e["person_id"] for e in second["entries"]}
    other = next(p["id"] for p in people if p["id"] not in busy)
    ok(
        org.post(
            f"{API}/schedules/{second['id']}/entries",
            json={"slot_id": moved["slot_id"], "person_id": other},
        ),
        201,
    )
    diff = ok(org.get(f"{API}/schedules/{second['id']}/compare"))
    assert diff["against_id"] == first["id"]
    assert [(e["slot_id"], e["person_id"]) for e in diff["added"]] == [(moved["slot_id"], other)]
    assert [(e["slot_id"], e["person_id"]) for e in diff["removed"]] == [
        (moved["slot_id"], moved["person_id"])
    ]
    assert len(diff["unchanged"]) == 2

    result = ok(org.post(f"{API}/schedules/{second['id']}/publish"))
    assert (result["added"], result["removed"]) == (1, 1)
    assert result["changed_person_ids"] == sorted({other, moved["person_id"]})
    assert ok(org.get(f"{API}/schedules/{first['id']}"))["status"] == "superseded"
    live = set().union(*(solver_assignments(org, e) for e in events))
    assert live == entries(ok(org.get(f"{API}/schedules/{second['id']}")))

    back = ok(org.post(f"{API}/schedules/{first['id']}/rollback"))
    assert back["schedule"]["status"] == "published"
    assert ok(org.get(f"{API}/schedules/{second['id']}"))["status"] == "superseded"
    assert set().union(*(solver_assignments(org, e) for e in events)) == entries(first)

    gone = ok(org.post(f"{API}/schedules/{first['id']}/unpublish"))
    assert gone["removed"] == 3
    assert set().union(*(solver_assignments(org, e) for e in events)) == set()
    slots = [ok(org.get(f"{API}/events/{e['id']}"))["slots"][0] for e in events]
    assert [s["filled"] for s in slots] == [0, 0, 0]


def test_publish_after_a_sign_up_filled_the_slot_is_refused_and_changes_nothing(client) -> None:
    org = new_org(client)
    volunteer = invite_member(org, roles=["usher"])
    me = ok(volunteer.get(f"{API}/me"))["person"]["id"]
    add_person(org, roles=["usher"])
    add_person(org, roles=["usher"])
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=unique_time(200))
    weekday = (datetime.fromisoformat(event["starts_at"]).weekday() + 3) % 7
    window = {"weekday": weekday, "start_time": "09:00:00", "end_time": "10:00:00"}
    ok(org.post(f"{API}/people/{me}/availability", json=window), 201)
    draft = solve(org, [event])
    assert len(draft["entries"]) == 2
    ok(volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)

    refused = org.post(f"{API}/schedules/{draft['id']}/publish")
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["rule"] == "capacity"
    assert solver_assignments(org, event) == set()
    assert ok(org.get(f"{API}/events/{event['id']}"))["slots"][0]["filled"] == 1
    assert ok(org.get(f"{API}/schedules/{draft['id']}"))["status"] == "draft"


def test_schedule_of_another_organisation_is_not_found(client) -> None:
    mine, theirs = new_org(client), new_org(client)
    add_person(theirs)
    event = add_event(theirs, starts_in=unique_time(300))
    draft = solve(theirs, [event])
    for method, path in [
        ("GET", f"{API}/schedules/{draft['id']}"),
        ("GET", f"{API}/schedules/{draft['id']}/compare"),
        ("POST", f"{API}/schedules/{draft['id']}/publish"),
    ]:
        response = client.request(method, path, headers=mine.headers)
        assert response.status_code == 404
    assert draft["id"] not in [s["id"] for s in ok(mine.get(f"{API}/schedules"))["items"]]
    assert ok(theirs.get(f"{API}/schedules/{draft['id']}"))["status"] == "draft"


@pytest.mark.parametrize(
    "body",
    [
        {"starts_at": "2031-01-02T00:00:00+00:00", "ends_at": "2031-01-01T00:00:00+00:00"},
        {"starts_at": "2031-01-01T00:00:00", "ends_at": "2031-01-02T00:00:00"},
        {"starts_at": "2031-01-01T00:00:00+00:00", "ends_at": "2033-01-01T00:00:00+00:00"},
        {
            "starts_at": "2031-01-01T00:00:00+00:00",
            "ends_at": "2031-01-02T00:00:00+00:00",
            "time_limit_s": 0,
        },
    ],
)
def test_a_bad_range_is_refused_with_problem_json(client, body) -> None:
    org = new_org(client)
    response = org.post(f"{API}/schedules/solve", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_volunteers_cannot_solve_or_publish(client) -> None:
    org = new_org(client)
    volunteer = invite_member(org)
    body = {"starts_at": "2031-01-01T00:00:00+00:00", "ends_at": "2031-01-02T00:00:00+00:00"}
    assert volunteer.post(f"{API}/schedules/solve", json=body).status_code == 403
    assert volunteer.get(f"{API}/schedules").status_code == 403


def test_people_limits_and_wishes_are_set_through_people_patch(client) -> None:
    org = new_org(client)
    person = add_person(org, roles=["usher", "greeter"])
    body = {
        "max_per_week": 1,
        "min_rest_hours": 12,
        "preferred_roles": ["greeter"],
        "avoid_weekdays": [6, 0],
    }
    updated = ok(org.patch(f"{API}/people/{person['id']}", json=body))
    assert updated["avoid_weekdays"] == [0, 6]
    assert updated["max_per_week"] == 1
    assert (
        org.patch(f"{API}/people/{person['id']}", json={"avoid_weekdays": [7]}).status_code == 422
    )
    cleared = ok(org.patch(f"{API}/people/{person['id']}", json={"max_per_week": None}))
    assert cleared["max_per_week"] is None
    assert cleared["min_rest_hours"] == 12


def test_publish_racing_self_sign_ups_never_overfills(client, live_url) -> None:
    org = new_org(client)
    for _ in range(3):
        add_person(org, roles=["usher"])
    volunteers = [invite_member(org, roles=["usher"]) for _ in range(3)]
    for v in volunteers:  # not schedulable, so the draft only holds the others
        person = ok(v.get(f"{API}/me"))["person"]["id"]
        ok(org.patch(f"{API}/people/{person}", json={"max_per_week": 0, "max_per_month": 0}))
    for _round in range(4):
        event = add_event(org, slots=[{"role": "usher", "capacity": 3}], starts_in=unique_time(400))
        draft = solve(org, [event])
        assert len(draft["entries"]) == 3
        start = threading.Barrier(4)
        answers: list[int] = []

        def call(
            method: str,
            path: str,
            headers: dict[str, str],
            json: Any = None,
            start: threading.Barrier = start,
            answers: list[int] = answers,
        ) -> None:
            with httpx.Client(base_url=live_url, timeout=30) as http:
                start.wait()
                answers.append(http.request(method, path, headers=headers, json=json).status_code)

        threads = [
            threading.Thread(
                target=call, args=("POST", f"{API}/schedules/{draft['id']}/publish", org.headers)
            )
        ] + [
            threading.Thread(
                target=call,
                args=("POST", f"{API}/events/{event['id']}/signups", v.headers, {"role": "usher"}),
            )
            for v in volunteers
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        slot = ok(org.get(f"{API}/events/{event['id']}"))["slots"][0]
        rows = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
        assert slot["filled"] == len(rows) <= 3
        assert set(answers) <= {200, 201, 409}
        assert (200 in answers) == (len([r for r in rows if r["source"] == "solver"]) == 3)
