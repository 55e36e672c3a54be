"""Waitlists: ordered places in line for a full slot, filled atomically when places free up,
also under real concurrent requests."""

from __future__ import annotations

import csv
import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session

from signupflow.assignments.models import Assignment, AssignmentSource, AssignmentStatus
from signupflow.db.engine import make_engine
from tests.api.test_people_csv import export, upload
from tests.factories import (
    add_event,
    invite_member,
    new_org,
    ok,
    person_id_of,
    problem_type,
    slot_of,
)
from tests.support.concurrency import all_at_once, signups_and_joins
from tests.support.settings import BACKEND

API = "/api/v1"


def _join(member, event):
    return member.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"})


def _full_event(org, capacity=1):
    event = add_event(org, slots=[{"role": "usher", "capacity": capacity}])
    holders = [invite_member(org) for _ in range(capacity)]
    signups = [
        ok(h.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
        for h in holders
    ]
    return event, holders, signups


def test_joining_the_waitlist_of_a_slot_with_room_is_refused(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    assert problem_type(_join(invite_member(org), event)) == "/problems/slot-has-room"


def test_people_queue_in_order_once_each_and_only_for_roles_they_hold(client):
    org = new_org(client)
    event, holders, _ = _full_event(org)
    first, second = invite_member(org), invite_member(org)
    assert ok(_join(first, event), 201)["position"] == 1
    assert ok(_join(second, event), 201)["position"] == 2
    assert problem_type(_join(first, event)) == "/problems/already-waitlisted"
    assert problem_type(_join(holders[0], event)) == "/problems/already-assigned"
    greeter = invite_member(org, roles=["greeter"])
    assert problem_type(_join(greeter, event)) == "/problems/conflict"
    mine = ok(second.get(f"{API}/waitlist"))["items"]
    assert [(e["event_id"], e["position"]) for e in mine] == [(event["id"], 2)]
    # Volunteers see only their own place in line; schedulers see the whole line.
    assert [
        e["person_id"] for e in ok(second.get(f"{API}/events/{event['id']}/waitlist"))["items"]
    ] == [person_id_of(second)]
    assert ok(org.get(f"{API}/events/{event['id']}/waitlist"))["total"] == 2


def test_leaving_the_waitlist_moves_the_people_behind_forward(client):
    org = new_org(client)
    event, _, _ = _full_event(org)
    first, second = invite_member(org), invite_member(org)
    entry = ok(_join(first, event), 201)
    ok(_join(second, event), 201)
    assert (
        problem_type(second.delete(f"{API}/waitlist/{entry['id']}"), 403) == "/problems/forbidden"
    )
    assert first.delete(f"{API}/waitlist/{entry['id']}").status_code == 204
    assert problem_type(first.delete(f"{API}/waitlist/{entry['id']}"), 404) == "/problems/not-found"
    assert ok(second.get(f"{API}/waitlist"))["items"][0]["position"] == 1


def test_a_cancellation_promotes_the_first_eligible_person(client):
    org = new_org(client)
    event, holders, signups = _full_event(org)
    lapsed, eligible = invite_member(org), invite_member(org)
    ok(_join(lapsed, event), 201)
    ok(_join(eligible, event), 201)
    # The first in line no longer holds the role: they keep their place but are skipped.
    ok(org.patch(f"{API}/people/{person_id_of(lapsed)}", json={"roles": ["greeter"]}))
    assert holders[0].delete(f"{API}/assignments/{signups[0]['id']}").status_code == 204
    active = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert [(a["person_id"], a["status"], a["source"]) for a in active] == [
        (person_id_of(eligible), "confirmed", "self_signup")
    ]
    assert slot_of(org, event["id"])["filled"] == 1
    line = ok(org.get(f"{API}/events/{event['id']}/waitlist"))["items"]
    assert [e["person_id"] for e in line] == [person_id_of(lapsed)]
    actions = [e["action"] for e in ok(org.get(f"{API}/audit"))["items"]]
    assert "promote" in actions


def test_a_cancellation_with_nobody_waiting_reopens_the_place(client):
    org = new_org(client)
    event, holders, signups = _full_event(org)
    assert holders[0].delete(f"{API}/assignments/{signups[0]['id']}").status_code == 204
    assert slot_of(org, event["id"])["filled"] == 0


def test_a_grown_slot_fills_from_the_waitlist(client):
    org = new_org(client)
    event, _, _ = _full_event(org)
    waiting = [invite_member(org) for _ in range(3)]
    for member in waiting:
        ok(_join(member, event), 201)
    ok(org.patch(f"{API}/events/{event['id']}", json={"slots": [{"role": "usher", "capacity": 3}]}))
    slot = slot_of(org, event["id"])
    assert (slot["filled"], slot["capacity"]) == (3, 3)
    people = {
        a["person_id"] for a in ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    }
    assert {person_id_of(m) for m in waiting[:2]} <= people
    assert [
        e["person_id"] for e in ok(org.get(f"{API}/events/{event['id']}/waitlist"))["items"]
    ] == [person_id_of(waiting[2])]


def _people_reads(app, call) -> int:
    """How many statements read people or their roles while `call` runs."""
    engine = app.state.session_factory.kw["bind"]
    reads: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if re.search(r"\b(from|join) (people|person_skills)\b", statement.lower()):
            reads.append(statement)

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    return len(reads)


def test_promoting_several_people_reads_the_line_in_one_query_not_one_per_person(client, app):
    org = new_org(client)
    reads = {}
    for waiting in (1, 5):
        event, _, _ = _full_event(org)
        members = [invite_member(org) for _ in range(waiting)]
        for member in members:
            ok(_join(member, event), 201)
        grow = {"slots": [{"role": "usher", "capacity": 1 + waiting}]}
        reads[waiting] = _people_reads(
            app,
            lambda event=event, grow=grow: ok(org.patch(f"{API}/events/{event['id']}", json=grow)),
        )
        assert slot_of(org, event["id"])["filled"] == 1 + waiting
        assert ok(org.get(f"{API}/events/{event['id']}/waitlist"))["total"] == 0
    # Five promotions read people exactly as often as one does.
    assert reads[5] == reads[1], reads


def test_a_place_left_open_goes_to_someone_who_qualifies_again(client):
    org = new_org(client)
    event, holders, signups = _full_event(org)
    lapsed = invite_member(org)
    ok(_join(lapsed, event), 201)
    person = f"{API}/people/{person_id_of(lapsed)}"
    ok(org.patch(person, json={"active": False}))
    assert holders[0].delete(f"{API}/assignments/{signups[0]['id']}").status_code == 204
    assert slot_of(org, event["id"])["filled"] == 0  # nobody eligible waits
    ok(org.patch(person, json={"active": True}))
    active = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert [a["person_id"] for a in active] == [person_id_of(lapsed)]
    assert slot_of(org, event["id"])["filled"] == 1
    assert ok(org.get(f"{API}/events/{event['id']}/waitlist"))["total"] == 0


def test_places_freed_while_an_event_was_withdrawn_go_to_the_line_when_it_reopens(client):
    org = new_org(client)
    event, _, signups = _full_event(org)
    waiting = invite_member(org)
    ok(_join(waiting, event), 201)
    ok(org.patch(f"{API}/events/{event['id']}", json={"status": "draft"}))
    assert org.delete(f"{API}/assignments/{signups[0]['id']}").status_code == 204
    assert slot_of(org, event["id"])["filled"] == 0  # a draft promotes nobody
    ok(org.patch(f"{API}/events/{event['id']}", json={"status": "published"}))
    active = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert [a["person_id"] for a in active] == [person_id_of(waiting)]
    assert slot_of(org, event["id"])["filled"] == 1


@pytest.mark.parametrize("case", ["inactive", "role", "no_slot", "draft", "started"])
def test_signing_up_and_joining_refuse_the_same_people_for_the_same_reasons(client, case):
    org = new_org(client)
    member = invite_member(org)
    slots = [{"role": "greeter" if case == "no_slot" else "usher", "capacity": 1}]
    status = "draft" if case == "draft" else "published"
    starts_in = timedelta(hours=-1) if case == "started" else timedelta(days=7)
    event = add_event(org, slots=slots, status=status, starts_in=starts_in)
    if case == "inactive":
        ok(org.patch(f"{API}/people/{person_id_of(member)}", json={"active": False}))
    if case == "role":
        ok(org.patch(f"{API}/people/{person_id_of(member)}", json={"roles": ["greeter"]}))
    signup = member.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"})
    joined = _join(member, event)
    assert signup.status_code == joined.status_code != 201
    assert signup.json()["detail"] == joined.json()["detail"]


CAPACITY, WAITING, NEWCOMERS = 3, 10, 5


def test_concurrent_cancellations_and_signups_never_over_or_under_fill(client, live_url):
    """A full slot of 3 with 10 waiting: 3 cancellations, 5 newcomers signing up and 5 joining
    the waitlist, all at once. Exactly 3 places stay filled, by the first people in line."""
    org = new_org(client)
    event, holders, signups = _full_event(org, CAPACITY)
    waiting = [invite_member(org) for _ in range(WAITING)]
    for member in waiting:
        ok(_join(member, event), 201)
    newcomers = [invite_member(org) for _ in range(NEWCOMERS)]
    joiners = [invite_member(org) for _ in range(NEWCOMERS)]
    calls = [
        ("DELETE", f"{API}/assignments/{s['id']}", h.headers, None)
        for h, s in zip(holders, signups, strict=True)
    ] + signups_and_joins(event["id"], newcomers, joiners)
    results = all_at_once(live_url, calls)

    assert [status for status, _ in results[:CAPACITY]] == [204] * CAPACITY
    # Every freed place went straight to the waitlist: newcomers always found the slot full.
    for status, body in results[CAPACITY : CAPACITY + NEWCOMERS]:
        assert (status, body["type"]) == (409, "/problems/slot-full")
    assert [status for status, _ in results[CAPACITY + NEWCOMERS :]] == [201] * NEWCOMERS

    slot = slot_of(org, event["id"])
    assigned = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    active = [a for a in assigned if a["status"] != "declined"]
    assert slot["filled"] == len(active) == CAPACITY
    promoted = {a["person_id"] for a in active}
    assert promoted == {person_id_of(m) for m in waiting[:CAPACITY]}
    line = ok(org.get(f"{API}/events/{event['id']}/waitlist"))["items"]
    expected_line = [person_id_of(m) for m in waiting[CAPACITY:]]
    assert [e["person_id"] for e in line][: len(expected_line)] == expected_line
    assert [e["position"] for e in line] == list(range(1, len(line) + 1))
    assert len(line) == WAITING - CAPACITY + NEWCOMERS
    assert not promoted & {e["person_id"] for e in line}


@pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite serialises writers: this race cannot happen there"
)
def test_a_promotion_racing_an_assignment_elsewhere_skips_that_person(client, live_url, settings):
    """The first in line is assigned to another slot of the event by a transaction that
    commits while the cancellation is promoting them: the cancellation still succeeds and the
    place goes to the next in line."""
    org = new_org(client)
    event = add_event(
        org, slots=[{"role": "usher", "capacity": 1}, {"role": "greeter", "capacity": 1}]
    )
    (holder,), (signup,) = _full_slot(org, event)
    racer, next_in_line = invite_member(org, roles=["usher", "greeter"]), invite_member(org)
    ok(_join(racer, event), 201)
    ok(_join(next_in_line, event), 201)
    greeter_slot = slot_of(org, event["id"], "greeter")

    engine = make_engine(settings)
    with Session(engine) as elsewhere, ThreadPoolExecutor(max_workers=1) as pool:
        elsewhere.add(
            Assignment(
                organisation_id=org.id,
                event_id=event["id"],
                slot_id=greeter_slot["id"],
                person_id=person_id_of(racer),
                role="greeter",
                status=AssignmentStatus.CONFIRMED,
                source=AssignmentSource.MANUAL,
            )
        )
        elsewhere.flush()  # the row exists, uncommitted: the promotion's insert must wait
        blocker = elsewhere.execute(text("SELECT pg_backend_pid()")).scalar_one()
        cancelled = pool.submit(
            httpx.delete,
            f"{live_url}{API}/assignments/{signup['id']}",
            headers=holder.headers,
            timeout=60,
        )
        _wait_until_blocked_by(engine, blocker, cancelled)
        elsewhere.commit()
        response = cancelled.result()
    engine.dispose()

    assert response.status_code == 204, response.text
    usher = [
        a["person_id"]
        for a in ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
        if a["role"] == "usher"
    ]
    assert usher == [person_id_of(next_in_line)]
    assert slot_of(org, event["id"])["filled"] == 1
    assert ok(org.get(f"{API}/events/{event['id']}/waitlist"))["items"] == []


def _full_slot(org, event):
    holder = invite_member(org)
    signup = ok(holder.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    return (holder,), (signup,)


def _wait_until_blocked_by(engine, blocker_pid: int, request) -> None:
    """Until another backend waits for the `blocker_pid` transaction (the promotion's insert
    meeting the uncommitted row on the unique index)."""
    deadline = time.monotonic() + 20
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            assert not request.done(), request.result().text
            blocked = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE :blocker = ANY(pg_blocking_pids(pid))"
                ),
                {"blocker": blocker_pid},
            ).scalar_one()
            if blocked:
                return
            time.sleep(0.05)
    pytest.fail("the promotion never waited for the other transaction")


def test_a_csv_import_that_reactivates_someone_gives_them_the_place_they_wait_for(client):
    org = new_org(client)
    event, holders, signups = _full_event(org)
    lapsed = invite_member(org)
    ok(_join(lapsed, event), 201)
    ok(org.patch(f"{API}/people/{person_id_of(lapsed)}", json={"active": False}))
    assert holders[0].delete(f"{API}/assignments/{signups[0]['id']}").status_code == 204
    exported = list(csv.DictReader(io.StringIO(export(org).removeprefix("\ufeff"))))
    for row in exported:
        if row["email"] == lapsed.email:
            assert row["active"] == "false"
            row["active"] = "true"
    edited = io.StringIO()
    writer = csv.DictWriter(edited, fieldnames=list(exported[0]))
    writer.writeheader()
    writer.writerows(exported)

    assert ok(upload(org, edited.getvalue(), dry_run=True))["updated"] == 1
    assert slot_of(org, event["id"])["filled"] == 0  # a dry run changes nothing
    assert ok(upload(org, edited.getvalue()))["updated"] == 1

    active = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert [a["person_id"] for a in active] == [person_id_of(lapsed)]
    assert slot_of(org, event["id"])["filled"] == 1


ROUNDS = 8


@pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite serialises writers: this race cannot happen there"
)
def test_two_places_freed_at_once_for_someone_waiting_for_both_never_deadlock(client, live_url):
    """One person waits for both the usher and the greeter place of a full event, each slot has
    someone else in line behind them, and both holders cancel at the same moment. Both
    cancellations succeed; the person gets one place, the next in line the other."""
    org = new_org(client)
    both = invite_member(org, roles=["usher", "greeter"])
    behind = {role: invite_member(org, roles=[role]) for role in ("usher", "greeter")}
    for _ in range(ROUNDS):
        event = add_event(
            org, slots=[{"role": "usher", "capacity": 1}, {"role": "greeter", "capacity": 1}]
        )
        cancels = []
        for role in ("usher", "greeter"):
            holder = invite_member(org, roles=[role])
            signup = ok(
                holder.post(f"{API}/events/{event['id']}/signups", json={"role": role}), 201
            )
            cancels.append(("DELETE", f"{API}/assignments/{signup['id']}", holder.headers, None))
        for role in ("usher", "greeter"):
            ok(both.post(f"{API}/events/{event['id']}/waitlist", json={"role": role}), 201)
            ok(behind[role].post(f"{API}/events/{event['id']}/waitlist", json={"role": role}), 201)
        results = all_at_once(live_url, cancels)

        assert [status for status, _ in results] == [204, 204], results
        held = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
        roles = {a["person_id"]: a["role"] for a in held}
        taken = roles.pop(person_id_of(both))
        other = "usher" if taken == "greeter" else "greeter"
        assert roles == {person_id_of(behind[other]): other}
        line = ok(org.get(f"{API}/events/{event['id']}/waitlist"))["items"]
        assert [e["person_id"] for e in line] == [person_id_of(behind[taken])]
