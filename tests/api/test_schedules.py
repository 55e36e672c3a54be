"""Schedules through the API: solve a range into a draft, edit it, compare, publish,
unpublish, roll back; tenancy; publish racing self sign-ups never overfills."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import (
    Org,
    add_event,
    add_person,
    invite_member,
    new_org,
    ok,
    person_id_of,
    slot_of,
)
from tests.support.concurrency import all_at_once, signups_and_joins

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


def test_every_figure_follows_the_hand_edits_of_a_draft(client) -> None:
    # Once the fairness panel and report.fairness kept the run's figures after edits (#16).
    org = new_org(client)
    ushers = [add_person(org, roles=["usher"], name=f"Usher {i}") for i in range(3)]
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=unique_time(30))
    draft = solve(org, [event])
    assert (draft["report"]["filled"], draft["report"]["fairness"]["max"]) == (2, 1)
    path = f"{API}/schedules/{draft['id']}"
    for entry in draft["entries"]:
        ok(org.delete(f"{path}/entries/{entry['id']}"), 204)
    emptied = ok(org.get(path))["report"]
    assert (emptied["filled"], emptied["coverage"]) == (0, 0.0)
    assert (emptied["fairness"]["max"], emptied["fairness"]["mean"]) == (0, 0.0)
    assert [(u["slot_id"], u["seats"]) for u in emptied["unfilled"]] == [
        (event["slots"][0]["id"], 2)
    ]
    ok(
        org.post(
            f"{path}/entries",
            json={"slot_id": event["slots"][0]["id"], "person_id": ushers[2]["id"]},
        ),
        201,
    )
    edited = ok(org.get(path))["report"]
    assert (edited["filled"], edited["coverage"]) == (1, 0.5)
    assert (edited["fairness"]["min"], edited["fairness"]["max"]) == (0, 1)
    assert edited["engine"] == draft["report"]["engine"]  # the run's own facts stay


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
    volunteer = invite_member(org, roles=["greeter"])  # an usher only after the run
    me = ok(volunteer.get(f"{API}/me"))["person"]["id"]
    add_person(org, roles=["usher"])
    add_person(org, roles=["usher"])
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=unique_time(200))
    draft = solve(org, [event])
    assert len(draft["entries"]) == 2
    ok(org.patch(f"{API}/people/{me}", json={"roles": ["usher"]}))
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


# Places a schedule change frees go to the waitlist, as after a cancellation.


def join_waitlist(member: Org, event: dict[str, Any]) -> Any:
    return ok(member.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"}), 201)


def line(org: Org, event: dict[str, Any]) -> list[int]:
    items = ok(org.get(f"{API}/events/{event['id']}/waitlist"))["items"]
    assert [e["position"] for e in items] == list(range(1, len(items) + 1))
    return [e["person_id"] for e in items]


def holders(org: Org, event: dict[str, Any]) -> dict[int, tuple[str, str]]:
    """Who holds a place: person id -> (source, status)."""
    items = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    return {a["person_id"]: (a["source"], a["status"]) for a in items if a["status"] != "declined"}


def published_full_slot(org: Org, capacity: int, days: int) -> tuple[dict[str, Any], Any, list]:
    """An event whose usher slot the solver filled and a publish made full."""
    people = [add_person(org, roles=["usher"], name=f"P{i}") for i in range(capacity)]
    event = add_event(
        org, slots=[{"role": "usher", "capacity": capacity}], starts_in=unique_time(days)
    )
    draft = solve(org, [event])
    assert len(draft["entries"]) == capacity
    ok(org.post(f"{API}/schedules/{draft['id']}/publish"))
    assert slot_of(org, event["id"])["filled"] == capacity
    return event, draft, people


def test_unpublishing_promotes_the_waitlist_in_order(client) -> None:
    org = new_org(client)
    event, draft, people = published_full_slot(org, 3, 500)
    # Invited after the solve, so the draft never holds them.
    waiting = [invite_member(org) for _ in range(5)]
    for member in waiting:
        join_waitlist(member, event)
    # The first in line lost the role: skipped, but keeps their place.
    ok(org.patch(f"{API}/people/{person_id_of(waiting[0])}", json={"roles": ["greeter"]}))

    result = ok(org.post(f"{API}/schedules/{draft['id']}/unpublish"))

    ids = [person_id_of(m) for m in waiting]
    assert holders(org, event) == {i: ("self_signup", "confirmed") for i in ids[1:4]}
    assert slot_of(org, event["id"])["filled"] == 3
    assert line(org, event) == [ids[0], ids[4]]
    promotions = [
        e
        for e in ok(org.get(f"{API}/audit", params={"entity": "assignment"}))["items"]
        if e["action"] == "promote"
    ]
    # Newest first: promoted in the order they queued.
    assert [e["changes"]["person_id"] for e in reversed(promotions)] == ids[1:4]
    assert (result["removed"], result["promoted"]) == (3, 3)
    assert result["changed_person_ids"] == sorted([p["id"] for p in people] + ids[1:4])


def test_republishing_promotes_into_places_the_new_plan_leaves_free_and_never_overfills(
    client,
) -> None:
    org = new_org(client)
    dropped_from = add_event(
        org, slots=[{"role": "usher", "capacity": 1}], starts_in=unique_time(600)
    )
    replaced_in = add_event(
        org,
        slots=[{"role": "usher", "capacity": 1}],
        starts_in=unique_time(600) + timedelta(days=30),
    )
    add_person(org, roles=["usher"], name="A")
    add_person(org, roles=["usher"], name="B")
    first = solve(org, [dropped_from, replaced_in])
    assert len(first["entries"]) == 2
    ok(org.post(f"{API}/schedules/{first['id']}/publish"))
    waiting = [invite_member(org) for _ in range(2)]
    for member in waiting:
        join_waitlist(member, dropped_from)
    other_line = invite_member(org)
    join_waitlist(other_line, replaced_in)

    second = solve(org, [dropped_from, replaced_in])
    assert entries(second) == entries(first)
    by_slot = {e["slot_id"]: e for e in second["entries"]}
    drop = by_slot[dropped_from["slots"][0]["id"]]
    swap = by_slot[replaced_in["slots"][0]["id"]]
    ok(org.delete(f"{API}/schedules/{second['id']}/entries/{drop['id']}"), 204)
    ok(org.delete(f"{API}/schedules/{second['id']}/entries/{swap['id']}"), 204)
    newcomer = add_person(org, roles=["usher"], name="C")
    body = {"slot_id": swap["slot_id"], "person_id": newcomer["id"]}
    ok(org.post(f"{API}/schedules/{second['id']}/entries", json=body), 201)

    result = ok(org.post(f"{API}/schedules/{second['id']}/publish"))

    first_in_line, second_in_line = (person_id_of(m) for m in waiting)
    # The dropped place went to the first in line; the second still waits.
    assert holders(org, dropped_from) == {first_in_line: ("self_signup", "confirmed")}
    assert line(org, dropped_from) == [second_in_line]
    assert slot_of(org, dropped_from["id"])["filled"] == 1
    # The replaced place went to the new plan, not the line: full, never over capacity.
    assert holders(org, replaced_in) == {newcomer["id"]: ("solver", "pending")}
    assert line(org, replaced_in) == [person_id_of(other_line)]
    assert slot_of(org, replaced_in["id"])["filled"] == 1
    assert (result["added"], result["removed"], result["promoted"]) == (1, 2, 1)
    assert first_in_line in result["changed_person_ids"]


def test_rolling_back_promotes_into_the_places_it_frees(client) -> None:
    org = new_org(client)
    add_person(org, roles=["usher"], name="A")
    add_person(org, roles=["usher"], name="B")
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=unique_time(700))
    smaller = solve(org, [event])
    assert len(smaller["entries"]) == 2
    dropped = smaller["entries"][1]
    ok(org.delete(f"{API}/schedules/{smaller['id']}/entries/{dropped['id']}"), 204)
    ok(org.post(f"{API}/schedules/{smaller['id']}/publish"))
    fuller = solve(org, [event])
    assert len(fuller["entries"]) == 2
    ok(org.post(f"{API}/schedules/{fuller['id']}/publish"))
    assert slot_of(org, event["id"])["filled"] == 2
    waiting = [invite_member(org) for _ in range(2)]
    for member in waiting:
        join_waitlist(member, event)

    back = ok(org.post(f"{API}/schedules/{smaller['id']}/rollback"))

    first_in_line, second_in_line = (person_id_of(m) for m in waiting)
    kept = smaller["entries"][0]["person_id"]
    assert holders(org, event) == {
        kept: ("solver", "pending"),
        first_in_line: ("self_signup", "confirmed"),
    }
    assert slot_of(org, event["id"])["filled"] == 2
    assert line(org, event) == [second_in_line]
    assert (back["added"], back["removed"], back["promoted"]) == (0, 1, 1)


def test_unpublish_racing_sign_ups_and_joins_fills_exactly_from_the_front_of_the_line(
    client, live_url
) -> None:
    """A published slot of 3 with 6 waiting: unpublish, 4 newcomers signing up and 4 joining
    the waitlist, all at once. The 3 freed places go to the first 3 in line, nobody else."""
    org = new_org(client)
    event, draft, _ = published_full_slot(org, 3, 800)
    waiting = [invite_member(org) for _ in range(6)]
    for member in waiting:
        join_waitlist(member, event)
    newcomers = [invite_member(org) for _ in range(4)]
    joiners = [invite_member(org) for _ in range(4)]
    calls = [
        ("POST", f"{API}/schedules/{draft['id']}/unpublish", org.headers, None),
        *signups_and_joins(event["id"], newcomers, joiners),
    ]
    results = all_at_once(live_url, calls)

    (status, unpublished), signups, joins = results[0], results[1:5], results[5:]
    assert status == 200, unpublished
    # The slot was never open to newcomers: every freed place went straight to the line.
    assert [(s, body["type"]) for s, body in signups] == [(409, "/problems/slot-full")] * 4
    assert [s for s, _ in joins] == [201] * 4
    ids = [person_id_of(m) for m in waiting]
    assert holders(org, event) == {i: ("self_signup", "confirmed") for i in ids[:3]}
    assert slot_of(org, event["id"])["filled"] == 3
    queue = line(org, event)
    assert queue[:3] == ids[3:]
    assert sorted(queue[3:]) == sorted(person_id_of(j) for j in joiners)
    assert unpublished["promoted"] == 3


def test_publishing_takes_the_people_it_places_out_of_the_events_waitlists(client) -> None:
    org = new_org(client)
    event = add_event(
        org,
        slots=[{"role": "usher", "capacity": 1}, {"role": "greeter", "capacity": 1}],
        starts_in=unique_time(800),
    )
    holder = invite_member(org)
    ok(holder.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    waiting = invite_member(org, roles=["usher", "greeter"])
    join_waitlist(waiting, event)
    draft = solve(org, [event])
    greeter = slot_of(org, event["id"], "greeter")["id"]
    placed = {e["person_id"] for e in draft["entries"] if e["slot_id"] == greeter}
    assert placed == {person_id_of(waiting)}

    ok(org.post(f"{API}/schedules/{draft['id']}/publish"))

    assert holders(org, event)[person_id_of(waiting)] == ("solver", "pending")
    assert line(org, event) == []


def test_a_monthly_limit_counts_assignments_before_the_solved_range(client) -> None:
    org = new_org(client)
    limited = add_person(org, roles=["usher"], name="Limited")
    ok(org.patch(f"{API}/people/{limited['id']}", json={"max_per_month": 1}))
    # The 3rd and the 20th of a month a few months ahead, and the 3rd of the month after.
    now = datetime.now(UTC)
    month = (now.replace(day=1) + timedelta(days=100)).replace(day=1, hour=10, minute=0)
    next_month = (month + timedelta(days=32)).replace(day=3)
    slots = [{"role": "usher", "capacity": 1}]
    early, late, after = (
        add_event(org, slots=slots, starts_in=when.replace(second=0, microsecond=0) - now)
        for when in (month.replace(day=3), month.replace(day=20), next_month)
    )
    body = {"person_id": limited["id"], "role": "usher"}
    ok(org.post(f"{API}/events/{early['id']}/assignments", json=body), 201)

    draft = solve(org, [late, after])  # the range leaves out the assignment on the 3rd

    placed = {e["event_id"] for e in draft["entries"] if e["person_id"] == limited["id"]}
    assert placed == {after["id"]}
    (unfilled,) = draft["report"]["unfilled"]
    assert unfilled["slot_id"] == late["slots"][0]["id"]
    assert unfilled["reason"] == "everyone_busy_or_at_limit"
