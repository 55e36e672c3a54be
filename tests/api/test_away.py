"""Availability and time off are one hard rule (availability/eligibility.py): every way of
taking a place refuses someone who is away then, a promotion passes them by, an admin's
override is kept on the assignment and audited, and the rule checker reports a kept place its
person is now away for."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_schedules import solve
from tests.factories import (
    add_event,
    add_person,
    invite_member,
    new_org,
    ok,
    person_id_of,
)

API = "/api/v1"
SRC = Path(__file__).resolve().parents[2] / "src" / "signupflow"
AWAY_CODES = {"time_off": "person.on_time_off", "availability": "person.outside_availability"}


def local_day(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["starts_at"]).astimezone(ZoneInfo("Europe/London"))


def make_away(org: Any, person_id: int, event: dict[str, Any], how: str) -> None:
    """Time off on the event's local day, or a weekly window on another weekday only."""
    start = local_day(event)
    if how == "time_off":
        day = start.date().isoformat()
        body = {"starts_on": day, "ends_on": day, "reason": "away"}
        ok(org.post(f"{API}/people/{person_id}/time-off", json=body), 201)
    else:
        other = (start.weekday() + 3) % 7
        window = {"weekday": other, "start_time": "00:00", "end_time": "23:59"}
        ok(org.post(f"{API}/people/{person_id}/availability", json=window), 201)


def refused_as_away(response: Any, how: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert (body["type"], body["code"]) == ("/problems/person-unavailable", AWAY_CODES[how])
    assert set(body["params"]) == {"name", "day"}


def held(org: Any, event: dict[str, Any]) -> list[tuple[int, str]]:
    items = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    return sorted((a["person_id"], a["status"]) for a in items)


def filled(org: Any, event: dict[str, Any]) -> int:
    return int(ok(org.get(f"{API}/events/{event['id']}"))["slots"][0]["filled"])


# Each way of taking a place: it sets up a world where the person is about to take it, makes
# them away, tries, and returns (org, event, the attempt's response, what must be unchanged).
def _sign_up(client: Any, how: str) -> tuple[Any, Any, Any]:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    volunteer = invite_member(org)
    make_away(org, person_id_of(volunteer), event, how)
    attempt = volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"})
    return org, event, attempt


def _join_waitlist(client: Any, how: str) -> tuple[Any, Any, Any]:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    ok(invite_member(org).post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    volunteer = invite_member(org)
    make_away(org, person_id_of(volunteer), event, how)
    attempt = volunteer.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"})
    assert ok(volunteer.get(f"{API}/waitlist"))["items"] == []
    return org, event, attempt


def _assign(client: Any, how: str) -> tuple[Any, Any, Any]:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    person = add_person(org)
    make_away(org, person["id"], event, how)
    body = {"person_id": person["id"], "role": "usher"}
    return org, event, org.post(f"{API}/events/{event['id']}/assignments", json=body)


def _offered(client: Any) -> tuple[Any, Any, Any, Any]:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    offerer = invite_member(org)
    place = ok(offerer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    swap = ok(offerer.post(f"{API}/assignments/{place['id']}/swap-offers", json={}), 201)
    return org, event, offerer, swap


def _take_swap(client: Any, how: str) -> tuple[Any, Any, Any]:
    org, event, _, swap = _offered(client)
    taker = invite_member(org)
    make_away(org, person_id_of(taker), event, how)
    attempt = taker.post(f"{API}/swaps/{swap['id']}/take", json={})
    assert ok(org.get(f"{API}/swaps/{swap['id']}"))["state"] == "open"
    return org, event, attempt


def _approve_swap(client: Any, how: str) -> tuple[Any, Any, Any]:
    org, event, _, swap = _offered(client)
    ok(org.patch(f"{API}/organisation", json={"swaps_need_approval": True}))
    taker = invite_member(org)
    ok(taker.post(f"{API}/swaps/{swap['id']}/take", json={}))
    make_away(org, person_id_of(taker), event, how)  # while the offer waited
    attempt = org.post(f"{API}/swaps/{swap['id']}/approve")
    assert ok(org.get(f"{API}/swaps/{swap['id']}"))["state"] == "awaiting_approval"
    return org, event, attempt


WAYS: dict[str, Callable[[Any, str], tuple[Any, Any, Any]]] = {
    "sign up": _sign_up,
    "join a waitlist": _join_waitlist,
    "assign": _assign,
    "take a swap": _take_swap,
    "approve a swap": _approve_swap,
}


@pytest.mark.parametrize("how", ["time_off", "availability"])
@pytest.mark.parametrize("way", WAYS)
def test_every_way_of_taking_a_place_refuses_someone_away_and_changes_nothing(
    client: Any, way: str, how: str
) -> None:
    org, event, attempt = WAYS[way](client, how)
    before = held(org, event), filled(org, event)
    refused_as_away(attempt, how)
    assert (held(org, event), filled(org, event)) == before


# Every function of src/ that gives a place (through the seat ledger), and which way above
# (or other check) covers it. A new one fails here until it checks `require_there` and is
# listed with its test.
PLACE_GIVERS = {"place", "place_all", "reassign"}
COVERED = {
    ("assignments/service.py", "sign_up"): "sign up",
    ("assignments/service.py", "assign"): "assign",
    ("assignments/ledger.py", "fill_open_places"): "promotion (away_at, test below)",
    ("swaps/service.py", "_complete"): "take a swap, approve a swap",
    ("scheduling/publish.py", "_add"): "the rule checker (publish refuses broken rules)",
}


def givers_of_places() -> set[tuple[str, str]]:
    found = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(function):
                if not isinstance(call, ast.Call):
                    continue
                func = call.func  # place(...) or ledger.place(...), not roster.place(...)
                by_name = isinstance(func, ast.Name) and func.id in PLACE_GIVERS
                by_module = (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "ledger"
                    and func.attr in PLACE_GIVERS
                )
                if by_name or by_module:
                    found.add((path.relative_to(SRC).as_posix(), function.name))
    return found


def test_every_function_that_gives_a_place_is_covered_by_the_rule() -> None:
    assert givers_of_places() == set(COVERED)


def test_a_promotion_passes_over_someone_away_who_keeps_their_place_in_line(client: Any) -> None:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    holder = invite_member(org)
    place = ok(holder.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    first, second = invite_member(org), invite_member(org)
    for member in (first, second):
        ok(member.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"}), 201)
    make_away(org, person_id_of(first), event, "time_off")

    assert holder.delete(f"{API}/assignments/{place['id']}").status_code == 204

    assert held(org, event) == [(person_id_of(second), "confirmed")]
    assert [e["position"] for e in ok(first.get(f"{API}/waitlist"))["items"]] == [1]


def test_an_admin_may_override_and_the_place_says_so_and_is_audited(client: Any) -> None:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 3}])
    away, present = add_person(org), add_person(org)
    make_away(org, away["id"], event, "time_off")
    path = f"{API}/events/{event['id']}/assignments"

    forced = ok(
        org.post(path, json={"person_id": away["id"], "role": "usher", "override": True}), 201
    )
    plain = ok(
        org.post(path, json={"person_id": present["id"], "role": "usher", "override": True}), 201
    )

    assert (forced["overridden_rule"], plain["overridden_rule"]) == ("time_off", None)
    listed = {a["person_id"]: a["overridden_rule"] for a in ok(org.get(path))["items"]}
    assert listed == {away["id"]: "time_off", present["id"]: None}
    audit = ok(org.get(f"{API}/audit", params={"entity": "assignment"}))["items"]
    by_id = {e["entity_id"]: e["changes"] for e in audit if e["action"] == "assign"}
    assert by_id[forced["id"]]["overridden_rule"] == "time_off"
    assert "overridden_rule" not in by_id[plain["id"]]


def test_only_admins_may_override(client: Any) -> None:
    org = new_org(client)
    scheduler = invite_member(org, role="scheduler")
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    person = add_person(org)
    make_away(org, person["id"], event, "time_off")
    body = {"person_id": person["id"], "role": "usher", "override": True}

    refused = scheduler.post(f"{API}/events/{event['id']}/assignments", json=body)

    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "assignment.override_admin_only"
    assert held(org, event) == []


def test_the_rule_checker_reports_a_kept_place_its_person_is_now_away_for(client: Any) -> None:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 3}])
    volunteer = invite_member(org)
    kept = ok(volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    forced = add_person(org)
    make_away(org, forced["id"], event, "time_off")
    body = {"person_id": forced["id"], "role": "usher", "override": True}
    ok(org.post(f"{API}/events/{event['id']}/assignments", json=body), 201)
    make_away(org, person_id_of(volunteer), event, "time_off")  # after signing up

    report = solve(org, [event])["report"]

    assert [(v["rule"], v["person_id"], v["slot_id"]) for v in report["violations"]] == [
        ("time_off", person_id_of(volunteer), kept["slot_id"])
    ]


def test_a_swap_hands_over_the_place_without_the_override(client: Any) -> None:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    away, taker = invite_member(org), invite_member(org)
    make_away(org, person_id_of(away), event, "time_off")
    body = {"person_id": person_id_of(away), "role": "usher", "override": True}
    forced = ok(org.post(f"{API}/events/{event['id']}/assignments", json=body), 201)
    swap = ok(away.post(f"{API}/assignments/{forced['id']}/swap-offers", json={}), 201)

    ok(taker.post(f"{API}/swaps/{swap['id']}/take", json={}))

    moved = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert [(a["person_id"], a["overridden_rule"]) for a in moved] == [(person_id_of(taker), None)]


def test_a_kept_place_reported_does_not_stop_a_publish(client: Any) -> None:
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    volunteer = invite_member(org)
    ok(volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    add_person(org)
    make_away(org, person_id_of(volunteer), event, "time_off")
    draft = solve(org, [event])
    assert [v["rule"] for v in draft["report"]["violations"]] == ["time_off"]

    published = ok(org.post(f"{API}/schedules/{draft['id']}/publish"))

    assert published["schedule"]["status"] == "published"


def test_an_event_until_midnight_fits_a_window_until_23_59(client: Any) -> None:
    org = new_org(client)  # Europe/London
    london = ZoneInfo("Europe/London")
    day = (datetime.now(london) + timedelta(days=10)).date()
    starts = datetime.combine(day, time(22), london)
    body = {
        "title": "Late shift",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "status": "published",
        "slots": [{"role": "usher", "capacity": 1}],
    }
    event = ok(org.post(f"{API}/events", json=body), 201)
    volunteer = invite_member(org)
    window = {"weekday": day.weekday(), "start_time": "18:00", "end_time": "23:59"}
    ok(volunteer.post(f"{API}/people/{person_id_of(volunteer)}/availability", json=window), 201)

    ok(volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
