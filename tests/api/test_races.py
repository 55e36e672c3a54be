"""Requests racing each other on a real server, on both databases: rules that count rows
("at least one admin", "one open offer per assignment") hold when the requests that could
break them arrive at once, and a lost race is a 4xx problem with a code, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

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
from tests.support.concurrency import Call, all_at_once

API = "/api/v1"
TIMES = 10


def codes(answers: list[tuple[int, Any]]) -> set[str | None]:
    return {body.get("code") for status, body in answers if status >= 400}


def roles_of(*members: Org) -> list[str | None]:
    """Each member's role in the organisation, or None once they are no longer a member."""
    answers = [member.get(f"{API}/me") for member in members]
    return [r.json()["role"] if r.status_code == 200 else None for r in answers]


def two_admins(client: TestClient) -> tuple[Org, Org, int, int]:
    org = new_org(client)
    other = invite_member(org, role="admin")
    return org, other, person_id_of(org), person_id_of(other)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    client: TestClient, live_url: str
) -> None:
    org, other, me, them = two_admins(client)
    demote = {"role": "volunteer"}
    calls: list[Call] = [
        ("PUT", f"{API}/people/{them}/member-role", org.headers, demote),
        ("PUT", f"{API}/people/{me}/member-role", other.headers, demote),
    ] * (TIMES // 2)
    answers = all_at_once(live_url, calls)
    assert {status for status, _ in answers} <= {200, 403, 409}, answers
    assert codes(answers) <= {"organisation.last_admin", "auth.role_required"}
    assert sorted(map(str, roles_of(org, other))) == ["admin", "volunteer"]


def test_an_admin_demoting_both_admins_from_two_tabs_keeps_one(
    client: TestClient, live_url: str
) -> None:
    org, other, me, them = two_admins(client)
    demote = {"role": "scheduler"}
    calls: list[Call] = [
        ("PUT", f"{API}/people/{them}/member-role", org.headers, demote),
        ("PUT", f"{API}/people/{me}/member-role", org.headers, demote),
    ] * (TIMES // 2)
    answers = all_at_once(live_url, calls)
    assert {status for status, _ in answers} <= {200, 403, 409}, answers
    assert sorted(map(str, roles_of(org, other))) == ["admin", "scheduler"]


def test_two_admins_deleting_each_other_at_once_leave_one_admin(
    client: TestClient, live_url: str
) -> None:
    org, other, me, them = two_admins(client)
    calls: list[Call] = [
        ("DELETE", f"{API}/people/{them}", org.headers, None),
        ("DELETE", f"{API}/people/{me}", other.headers, None),
    ] * (TIMES // 2)
    answers = all_at_once(live_url, calls)
    assert {status for status, _ in answers} <= {204, 401, 403, 404, 409}, answers
    assert sorted(map(str, roles_of(org, other))) == ["None", "admin"]


def test_parallel_sign_ups_of_one_volunteer_give_one_place_and_409s(
    client: TestClient, live_url: str
) -> None:
    org = new_org(client)
    volunteer = invite_member(org)
    event = add_event(org, slots=[{"role": "usher", "capacity": 3}])
    path = f"{API}/events/{event['id']}/signups"
    answers = all_at_once(live_url, [("POST", path, volunteer.headers, {"role": "usher"})] * TIMES)
    assert sorted(status for status, _ in answers) == [201] + [409] * (TIMES - 1)
    assert codes(answers) == {"person.already_assigned"}
    assert slot_of(org, event["id"])["filled"] == 1


def test_parallel_assignments_of_one_person_by_an_admin_give_one_201_and_409s(
    client: TestClient, live_url: str
) -> None:
    org = new_org(client)
    person = add_person(org)
    event = add_event(org, slots=[{"role": "usher", "capacity": 3}])
    body = {"person_id": person["id"], "role": "usher"}
    path = f"{API}/events/{event['id']}/assignments"
    answers = all_at_once(live_url, [("POST", path, org.headers, body)] * TIMES)
    assert sorted(status for status, _ in answers) == [201] + [409] * (TIMES - 1)
    assert codes(answers) == {"person.already_assigned"}
    assert slot_of(org, event["id"])["filled"] == 1


def test_declines_racing_cancellations_of_one_assignment_answer_4xx_and_free_the_place_once(
    client: TestClient, live_url: str
) -> None:
    org = new_org(client)
    volunteer = invite_member(org)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    body = {"person_id": person_id_of(volunteer), "role": "usher"}
    assignment = ok(org.post(f"{API}/events/{event['id']}/assignments", json=body), 201)
    path = f"{API}/assignments/{assignment['id']}"
    calls: list[Call] = [
        ("POST", f"{path}/decline", volunteer.headers, None),
        ("DELETE", path, volunteer.headers, None),
    ] * (TIMES // 2)
    answers = all_at_once(live_url, calls)
    assert {status for status, _ in answers} <= {200, 204, 404, 409}, answers
    assert [s for s, _ in answers].count(204) == 1  # the row is removed exactly once
    assert codes(answers) <= {"resource.not_found", "assignment.not_pending"}
    assert slot_of(org, event["id"])["filled"] == 0


def test_parallel_offers_of_one_assignment_open_one_offer(
    client: TestClient, live_url: str
) -> None:
    org = new_org(client)
    volunteer = invite_member(org)
    event = add_event(org)
    assignment = ok(
        volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201
    )
    path = f"{API}/assignments/{assignment['id']}/swap-offers"
    answers = all_at_once(live_url, [("POST", path, volunteer.headers, {})] * TIMES)
    assert sorted(status for status, _ in answers) == [201] + [409] * (TIMES - 1)
    assert codes(answers) == {"swap.already_offered"}
    assert ok(org.get(f"{API}/swaps", params={"state": "open"}))["total"] == 1


def test_a_name_taken_by_a_concurrent_request_is_a_409_with_its_code(
    client: TestClient, live_url: str
) -> None:
    org = new_org(client)
    calls: list[Call] = [("POST", f"{API}/teams", org.headers, {"name": "Welcome"})] * TIMES
    answers = all_at_once(live_url, calls)
    assert sorted(status for status, _ in answers) == [201] + [409] * (TIMES - 1)
    assert codes(answers) == {"team.name_taken"}
    assert {body["params"]["name"] for status, body in answers if status == 409} == {"Welcome"}


def test_lowering_a_capacity_while_people_sign_up_never_overfills_and_answers_4xx(
    client: TestClient, live_url: str
) -> None:
    org = new_org(client)
    members = [invite_member(org) for _ in range(3)]
    for _ in range(3):  # the window is narrow: a few rounds
        event = add_event(org, slots=[{"role": "usher", "capacity": 3}])
        path = f"{API}/events/{event['id']}"
        lower = {"slots": [{"role": "usher", "capacity": 1}]}
        calls: list[Call] = [("PATCH", path, org.headers, lower)] * 4
        calls += [("POST", f"{path}/signups", m.headers, {"role": "usher"}) for m in members]
        answers = all_at_once(live_url, calls)
        assert {status for status, _ in answers} <= {200, 201, 409}, answers
        assert codes(answers) <= {"slot.capacity_below_signups", "slot.full"}
        slot = slot_of(org, event["id"])
        signed_up = [status for status, _ in answers[4:]].count(201)
        assert slot["filled"] == signed_up <= slot["capacity"]
