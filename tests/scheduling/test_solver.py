"""The solver never breaks a hard rule, fills what can be filled, changes only what must
change, and answers the same problem the same way."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signupflow.scheduling.solver import (
    RULES,
    DayRange,
    Person,
    Placement,
    Problem,
    Slot,
    Window,
    hard_violations,
    solve,
)
from signupflow.scheduling.solver.calendar import localise, within_windows
from tests.scheduling.instances import MONDAY, feasible_instances, slot

PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
DAY = MONDAY.date()


@PROPERTY
@given(feasible_instances())
def test_feasible_instances_are_filled_completely_without_violations(instance) -> None:
    problem, known = instance
    assert hard_violations(problem, sorted(known)) == []  # the instance is what it claims
    result = solve(problem)
    assert result.violations == ()
    assert hard_violations(problem, result.assignments) == []
    assert result.filled == result.seats == sum(s.capacity for s in problem.slots)
    assert result.unfilled == ()


@PROPERTY
@given(feasible_instances(), st.data())
def test_fixed_placements_are_kept_and_never_doubled(instance, data) -> None:
    problem, known = instance
    fixed = tuple(sorted(data.draw(st.sets(st.sampled_from(sorted(known)), max_size=3))))
    problem = dataclasses.replace(problem, fixed=fixed)
    result = solve(problem)
    assert hard_violations(problem, result.assignments) == []
    assert not set(result.assignments) & set(fixed)
    assert result.filled == result.seats


@PROPERTY
@given(feasible_instances(), st.data())
def test_resolving_after_someone_becomes_unavailable_moves_only_their_assignments(
    instance, data
) -> None:
    problem, _ = instance
    first = solve(problem)
    busy = sorted({p.person_id for p in first.assignments})
    gone = data.draw(st.sampled_from(busy))
    people = tuple(
        dataclasses.replace(
            p, time_off=(DayRange(DAY - timedelta(days=1), DAY + timedelta(days=60)),)
        )
        if p.id == gone
        else p
        for p in problem.people
    )
    second = solve(dataclasses.replace(problem, people=people, previous=first.assignments))
    assert hard_violations(dataclasses.replace(problem, people=people), second.assignments) == []
    removed = set(first.assignments) - set(second.assignments)
    assert removed == {p for p in first.assignments if p.person_id == gone}
    assert set(second.changes.removed) == removed
    assert set(second.changes.kept) == set(first.assignments) - removed


@settings(max_examples=15, deadline=None, derandomize=True)
@given(feasible_instances())
def test_the_same_problem_gives_the_same_result(instance) -> None:
    problem, _ = instance
    assert solve(problem) == solve(problem)
    two_workers = dataclasses.replace(problem, num_workers=2)
    assert solve(two_workers) == solve(two_workers)


def crowded_problem() -> Problem:
    """More people than seats, uneven availability and preferences: the greedy answer is not
    provably optimal, so CP-SAT runs."""
    slots = tuple(
        slot(i + 1, i // 2 + 1, ("usher", "greeter")[i % 2], DAY + timedelta(days=i // 2), 10)
        for i in range(12)
    )
    people = tuple(
        Person(
            pid,
            frozenset({"usher", "greeter"} if pid % 3 else {"usher"}),
            preferred_roles=frozenset({"greeter"}) if pid % 2 else frozenset(),
            avoid_weekdays=frozenset({pid % 7}),
            max_per_week=1 + pid % 2,
        )
        for pid in range(1, 9)
    )
    return Problem(slots, people, time_limit_s=3.0, seed=3)


def test_cp_sat_runs_when_the_heuristic_is_not_provably_optimal_and_is_repeatable() -> None:
    problem = crowded_problem()
    results = [solve(problem) for _ in range(3)]
    assert results[0].engine == "cp-sat", results[0].engine_note
    assert results[0].violations == ()
    assert results[1] == results[0] == results[2]
    assert results[0].fairness.max - results[0].fairness.min <= 1


def test_without_ortools_the_heuristic_runs_alone_and_says_so() -> None:
    script = (
        "import sys; sys.modules['ortools'] = None\n"  # makes `import ortools` fail, as if absent
        "from tests.scheduling.test_solver import crowded_problem\n"
        "from signupflow.scheduling.solver import solve\n"
        "r = solve(crowded_problem())\n"
        "print(r.engine, r.filled, len(r.violations), '|', r.engine_note)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    engine, filled, violations, note = out.replace("|", "").split(maxsplit=3)
    assert (engine, violations) == ("greedy", "0")
    assert int(filled) > 0
    assert "OR-Tools is not installed" in note


def reason_of(problem: Problem) -> str:
    result = solve(problem)
    assert result.violations == ()
    (unfilled,) = result.unfilled
    return unfilled.reason


def test_a_role_nobody_holds_is_unfilled_for_want_of_a_qualified_person() -> None:
    problem = Problem((slot(1, 1, "organist", DAY, 10),), (Person(1, frozenset({"usher"})),))
    assert reason_of(problem) == "no_qualified_person"


def test_a_slot_when_every_holder_is_away_is_unfilled_because_they_are_unavailable() -> None:
    people = (
        Person(1, frozenset({"usher"}), time_off=(DayRange(DAY, DAY),)),
        Person(2, frozenset({"usher"}), windows=(Window(DAY.weekday(), time(6), time(9)),)),
    )
    assert reason_of(Problem((slot(1, 1, "usher", DAY, 10),), people)) == "everyone_unavailable"


def test_a_slot_whose_holders_are_busy_or_at_their_limit_says_so() -> None:
    slots = (
        slot(1, 1, "usher", DAY, 10),
        slot(2, 2, "usher", DAY, 11),  # overlaps slots 1 and 3
        slot(3, 3, "usher", DAY + timedelta(days=1), 10),
        slot(4, 4, "usher", DAY + timedelta(days=1), 11),  # overlaps slot 3
    )
    people = (Person(1, frozenset({"usher"}), max_per_week=1), Person(2, frozenset({"usher"})))
    result = solve(Problem(slots, people))
    assert result.violations == ()
    assert [u.reason for u in result.unfilled] == ["everyone_busy_or_at_limit"]
    assert result.filled == 3  # person 1 once (weekly limit), person 2 at 10:00 both days


@pytest.mark.parametrize(
    ("placements", "rule"),
    [
        ([Placement(1, 2)], "role"),
        ([Placement(1, 3)], "time_off"),
        ([Placement(1, 4)], "availability"),
        ([Placement(1, 1), Placement(1, 5)], "capacity"),
        ([Placement(1, 1), Placement(2, 1)], "one_role_per_event"),
        ([Placement(1, 1), Placement(3, 1)], "overlap"),
        ([Placement(1, 5), Placement(4, 5)], "min_rest"),
        ([Placement(1, 6), Placement(5, 6)], "weekly_limit"),
        ([Placement(1, 6), Placement(5, 6), Placement(6, 6)], "monthly_limit"),
        ([Placement(99, 1)], "unknown"),
        ([Placement(1, 1), Placement(1, 1)], "duplicate"),
    ],
)
def test_the_checker_names_each_broken_rule(placements: list[Placement], rule: str) -> None:
    slots = (
        slot(1, 1, "usher", DAY, 10),
        slot(2, 1, "greeter", DAY, 10),
        slot(3, 2, "usher", DAY, 11),
        slot(4, 3, "usher", DAY, 14),  # two hours after slot 1 ends
        slot(5, 4, "usher", DAY + timedelta(days=2), 10),
        slot(6, 5, "usher", DAY + timedelta(days=9), 10),
    )
    people = (
        Person(1, frozenset({"usher", "greeter"})),
        Person(2, frozenset({"greeter"})),
        Person(3, frozenset({"usher"}), time_off=(DayRange(DAY, DAY),)),
        Person(4, frozenset({"usher"}), windows=(Window(DAY.weekday(), time(12), time(18)),)),
        Person(5, frozenset({"usher"}), min_rest=timedelta(hours=8)),
        Person(6, frozenset({"usher"}), max_per_week=1, max_per_month=2),
    )
    found = hard_violations(Problem(slots, people), placements)
    assert rule in {v.rule for v in found}
    assert set(RULES) >= {v.rule for v in found}


def test_published_placements_still_valid_are_kept_even_when_unfair() -> None:
    slots = tuple(slot(i, i, "usher", DAY + timedelta(days=i), 10) for i in range(1, 5))
    people = (Person(1, frozenset({"usher"})), Person(2, frozenset({"usher"})))
    previous = tuple(Placement(i, 1) for i in range(1, 5))
    result = solve(Problem(slots, people, previous=previous))
    assert set(result.assignments) == set(previous)
    assert result.changes.kept == previous
    assert date(2031, 3, 3) == DAY


def test_a_place_kept_by_someone_no_longer_listed_still_takes_its_seat() -> None:
    # Person 99 holds the only usher place but is inactive now, so the problem does not list
    # them: the place is still theirs, and nobody else may be put into that slot.
    usher = slot(1, 1, "usher", DAY, 10, capacity=1)
    problem = Problem(
        slots=(usher,),
        people=(Person(1, frozenset({"usher"})),),
        fixed=(Placement(1, 99),),
    )
    result = solve(problem)
    assert result.assignments == ()
    assert (result.filled, result.seats) == (1, 1)
    assert [v.rule for v in hard_violations(problem, [Placement(1, 1)])] == ["capacity"]


def test_a_kept_place_its_person_is_now_away_for_is_reported_unless_overridden() -> None:
    # Persons 1 and 2 hold places they took before their time off; an admin placed person 2
    # knowingly. Person 3's window leaves out the slot (10:00 to 12:00), and an override of
    # their time off (they have none) does not cover their availability.
    usher = slot(1, 1, "usher", DAY, 10, capacity=3)
    off = (DayRange(DAY, DAY),)
    people = (
        Person(1, frozenset({"usher"}), time_off=off),
        Person(2, frozenset({"usher"}), time_off=off),
        Person(3, frozenset({"usher"}), windows=(Window(DAY.weekday(), time(14), time(18)),)),
    )
    fixed = (Placement(1, 1), Placement(1, 2), Placement(1, 3))
    overridden = ((Placement(1, 2), "time_off"), (Placement(1, 3), "time_off"))
    problem = Problem((usher,), people, fixed=fixed, overridden=overridden)
    found = hard_violations(problem, [])
    # Person 3's override was of their time off; it does not cover their availability.
    assert [(v.rule, v.person_id) for v in found] == [("time_off", 1), ("availability", 3)]
    assert solve(problem).violations == tuple(found)


@pytest.mark.parametrize(
    ("windows", "fits"),
    [
        # 22:00 to midnight: a window to 23:59 (the form's latest time) runs to midnight.
        ([Window(0, time(18), time(23, 59))], {"to midnight": True, "across": False}),
        ([Window(0, time(18), time(23, 30))], {"to midnight": False, "across": False}),
        # 23:00 to 01:00 needs both days covered.
        (
            [Window(0, time(18), time(23, 59)), Window(1, time(0), time(2))],
            {"to midnight": True, "across": True},
        ),
        ([Window(1, time(0), time(2))], {"to midnight": False, "across": False}),
    ],
)
def test_windows_cover_a_slot_to_and_across_midnight_day_by_day(
    windows: list[Window], fits: dict[str, bool]
) -> None:
    monday = MONDAY.replace(hour=22)
    slots = {
        "to midnight": Slot(1, 1, "usher", monday, monday + timedelta(hours=2), 1),
        "across": Slot(2, 2, "usher", monday + timedelta(hours=1), monday + timedelta(hours=3), 1),
    }
    person = Person(1, frozenset({"usher"}), windows=tuple(windows))
    for name, fitting in fits.items():
        local = localise(slots[name], ZoneInfo("UTC"))
        assert within_windows(person, local) is fitting, name
