"""bench/write_bench: the plan of writes and the exact count of places it is judged by (each
check shown failing on a count that is wrong), and the benchmark itself at a tiny size."""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from bench.write_bench import (
    POPULAR_EVERY,
    SLOT_FULL,
    SlotCount,
    Volunteer,
    check_capacity,
    measure_writes,
    requested_per_slot,
    write_plan,
)

from harness.postgres import pg_bin_dir
from harness.wrk import wrk_binary
from tests.support.services import require_service
from tests.support.settings import BACKEND

VOLUNTEERS = [
    Volunteer(person_id=p, email=f"v{p}@example.org", roles=("greeter", "usher"))
    for p in range(1, 11)
]


def _slot(
    slot_id: int, capacity: int, filled: int, *, holding: int = -1, rows: int = -1
) -> SlotCount:
    holding = filled if holding < 0 else holding
    return SlotCount(
        slot_id=slot_id,
        event_id=7,
        role=f"role{slot_id}",
        capacity=capacity,
        filled=filled,
        holding=holding,
        rows=holding if rows < 0 else rows,
    )


# Two slots: one of 2 places asked for by 5 people (full, 3 refused), one of 10 asked by 3.
SLOTS = [_slot(1, 2, 2), _slot(2, 10, 3)]
REQUESTED = {(7, "role1"): 5, (7, "role2"): 3}
STATUSES = {"201": 5, SLOT_FULL: 3}
IDS = [11, 12, 13, 14, 15]


def test_exact_counts_pass() -> None:
    check = check_capacity(SLOTS, REQUESTED, STATUSES, IDS, IDS)
    assert check.problems == []
    assert (check.slots, check.full, check.places) == (2, 1, 5)


@pytest.mark.parametrize(
    ("slots", "statuses", "answered", "rows", "problem"),
    [
        # one place too many (what an overbooking race gives)
        ([_slot(1, 2, 3), _slot(2, 10, 3)], STATUSES, IDS, IDS, "slot 1 "),
        # the counter says 2, but 3 people hold a place
        ([_slot(1, 2, 2, holding=3), _slot(2, 10, 3)], STATUSES, IDS, IDS, "holding 3"),
        # a slot with room refused someone
        ([_slot(1, 2, 2), _slot(2, 10, 2)], {"201": 4, SLOT_FULL: 4}, IDS[:4], IDS[:4], "slot 2 "),
        # a declined row left behind
        ([_slot(1, 2, 2, rows=3), _slot(2, 10, 3)], STATUSES, IDS, IDS, "rows 3"),
        # a row the client never heard of (a write completed after its answer was lost)
        (SLOTS, {"201": 4, SLOT_FULL: 3}, IDS[:4], IDS, "rows without a 201 answer: [15]"),
        # a 201 whose row is gone (rolled back after answering)
        (SLOTS, STATUSES, IDS, IDS[:4], "answered 201 without a row: [15]"),
        # the same assignment answered twice
        (SLOTS, {"201": 6, SLOT_FULL: 3}, [*IDS, 15], IDS, "assignment 15 answered 201 2 times"),
        # a refusal that is not slot-full
        (
            SLOTS,
            {"201": 5, SLOT_FULL: 2, "409 /problems/already-assigned": 1},
            IDS,
            IDS,
            "answers other than 201 and 409 slot-full",
        ),
        # fewer refusals than requests that found no place
        (SLOTS, {"201": 5, SLOT_FULL: 2}, IDS, IDS, "2 answers 409 slot-full, but 3"),
    ],
)
def test_a_wrong_count_is_reported(
    slots: list[SlotCount],
    statuses: dict[str, int],
    answered: list[int],
    rows: list[int],
    problem: str,
) -> None:
    check = check_capacity(slots, REQUESTED, statuses, answered, rows)
    assert any(problem in found for found in check.problems), check.problems


def test_the_plan_asks_for_each_person_at_each_event_once_and_keeps_going_to_popular_events() -> (
    None
):
    plan = write_plan("self sign-up", VOLUNTEERS, [101, 102, 103], [201, 202])
    pairs = [(r.token, r.path) for r in plan]
    assert len(pairs) == len(set(pairs)) == 10 * 5
    assert {r.token for r in plan} == {str(v.person_id) for v in VOLUNTEERS}
    assert all(json.loads(r.body)["role"] in ("greeter", "usher") for r in plan)
    # Every POPULAR_EVERY-th write goes to a popular event, until they are all asked for.
    popular = [i for i, r in enumerate(plan) if "/events/20" in r.path]
    assert popular[:5] == [POPULAR_EVERY * k - 1 for k in range(1, 6)]
    # Consecutive writes to the other events go to different events.
    spread = [r.path for r in plan if "/events/10" in r.path]
    assert all(a != b for a, b in pairwise(spread))


def test_an_admin_plan_places_each_person_through_the_admin_token() -> None:
    plan = write_plan("admin assignment", VOLUNTEERS, [101, 102], [])
    assert {r.token for r in plan} == {"admin"}
    assert Counter(json.loads(r.body)["person_id"] for r in plan) == dict.fromkeys(range(1, 11), 2)
    assert requested_per_slot(plan) == {(101, "greeter"): 10, (102, "usher"): 10}


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "postgresql", reason="runs in the PostgreSQL pass")
def test_the_writes_benchmark_counts_every_place_exactly(tmp_path: Path) -> None:
    if pg_bin_dir() is None:
        require_service("PostgreSQL server binaries are not installed")
    if wrk_binary() is None:
        require_service("wrk is not installed (apt-get install wrk)")
    bench = measure_writes(tmp_path, duration_s=2, workers=1, events=2)
    assert bench.failures() == []
    for row in bench.rows:
        assert row.run.count("201") == row.check.places > 0
        assert row.sent == row.run.result.requests
    # 2 + 4 popular events of 6 slots; the popular events' small slots fill within 2 s.
    assert all(row.check.slots == 36 for row in bench.rows)
