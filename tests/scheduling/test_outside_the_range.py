"""Places people already hold just outside the solved range count toward their weekly and
monthly limits, overlaps and rest: solving half a month cannot give someone a full month's
quota again. Both engines, and the independent checker, see them."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signupflow.scheduling.solver import (
    Commitment,
    Person,
    Placement,
    Problem,
    hard_violations,
    solve,
)
from signupflow.scheduling.solver.cp_sat import solve_cp_sat
from signupflow.scheduling.solver.index import build_index
from tests.scheduling.instances import MONDAY, feasible_instances, slot
from tests.scheduling.test_solver import PROPERTY, crowded_problem

DAY = MONDAY.date()  # Monday 3 March 2031
ENGINES = pytest.mark.parametrize("cp_sat", [False, True], ids=["greedy", "cp-sat"])


def held(slot_id: int, day: date, hour: int, person_id: int = 1) -> Commitment:
    return Commitment(slot(slot_id, slot_id, "usher", day, hour), person_id)


def one_usher_slot(day: date, hour: int = 10) -> tuple:
    return (slot(1, 1, "usher", day, hour),)


def placed(problem: Problem) -> set[Placement]:
    result = solve(problem)
    assert result.violations == ()
    return set(result.assignments)


@ENGINES
def test_a_monthly_limit_counts_places_earlier_in_the_month(cp_sat: bool) -> None:
    limited = Person(1, frozenset({"usher"}), max_per_month=1)
    later = one_usher_slot(DAY + timedelta(days=14))
    same_month = Problem(later, (limited,), outside=(held(90, DAY, 10),), use_cp_sat=cp_sat)
    assert placed(same_month) == set()
    # The same place in February does not count in March.
    february = dataclasses.replace(same_month, outside=(held(90, DAY - timedelta(days=7), 10),))
    assert placed(february) == {Placement(1, 1)}


@ENGINES
def test_a_weekly_limit_counts_places_later_in_the_week(cp_sat: bool) -> None:
    limited = Person(1, frozenset({"usher"}), max_per_week=1)
    # The range holds Monday; the person already serves on Saturday of the same ISO week.
    saturday = Problem(
        one_usher_slot(DAY),
        (limited,),
        outside=(held(90, DAY + timedelta(days=5), 10),),
        use_cp_sat=cp_sat,
    )
    assert placed(saturday) == set()
    next_monday = dataclasses.replace(saturday, outside=(held(90, DAY + timedelta(days=7), 10),))
    assert placed(next_monday) == {Placement(1, 1)}


@ENGINES
def test_rest_and_overlap_count_shifts_just_outside(cp_sat: bool) -> None:
    rested = Person(1, frozenset({"usher"}), min_rest=timedelta(hours=12))
    other = Person(2, frozenset({"usher"}))
    # A shift ending at 22:00 the evening before: 09:00 leaves 11 h of rest, 10:00 leaves 12.
    evening = held(90, DAY - timedelta(days=1), 20)
    too_soon = Problem(one_usher_slot(DAY, 9), (rested,), outside=(evening,), use_cp_sat=cp_sat)
    assert placed(too_soon) == set()
    assert placed(dataclasses.replace(too_soon, people=(rested, other))) == {Placement(1, 2)}
    rested_enough = dataclasses.replace(too_soon, slots=one_usher_slot(DAY, 10))
    assert placed(rested_enough) == {Placement(1, 1)}
    # An event that began before the range and runs into it is an overlap.
    running_over = Commitment(
        dataclasses.replace(
            slot(91, 91, "usher", DAY - timedelta(days=1), 20), ends_at=MONDAY + timedelta(hours=11)
        ),
        2,
    )
    problem = Problem(one_usher_slot(DAY), (other,), outside=(running_over,), use_cp_sat=cp_sat)
    assert placed(problem) == set()


def test_the_checker_counts_places_outside_only_against_new_placements() -> None:
    person = Person(1, frozenset({"usher"}), max_per_week=1, max_per_month=2)
    slots = one_usher_slot(DAY + timedelta(days=14))
    outside = (held(90, DAY + timedelta(days=15), 10), held(91, DAY + timedelta(days=20), 10))
    problem = Problem(slots, (person,), outside=outside)
    rules = {v.rule for v in hard_violations(problem, [Placement(1, 1)])}
    assert rules == {"weekly_limit", "monthly_limit"}
    # Places outside are facts, not choices: together they break nothing new.
    assert hard_violations(problem, []) == []
    # And nothing may be placed into them.
    assert [v.rule for v in hard_violations(problem, [Placement(90, 1)])] == ["unknown"]


@PROPERTY
@given(feasible_instances(), st.data())
def test_with_places_held_around_the_range_no_hard_rule_is_broken(instance, data) -> None:
    problem, _ = instance
    people = [p.id for p in problem.people]
    # Places before day 0 and after day 40 of the instances, in the same weeks and months.
    days = st.one_of(st.integers(-30, -1), st.integers(41, 70))
    outside = tuple(
        held(1000 + i, DAY + timedelta(days=d), h, person_id=pid)
        for i, (d, h, pid) in enumerate(
            data.draw(
                st.lists(st.tuples(days, st.integers(0, 22), st.sampled_from(people)), max_size=6)
            )
        )
    )
    problem = dataclasses.replace(problem, outside=outside)
    result = solve(problem)
    assert result.violations == ()
    assert hard_violations(problem, result.assignments) == []
    assert result.filled + sum(u.seats for u in result.unfilled) == result.seats


def test_the_cp_sat_model_itself_counts_places_outside() -> None:
    # Called directly, without the greedy hint, so nothing but the model keeps it in bounds.
    problem = crowded_problem()
    saturday = DAY + timedelta(days=5)  # the first week of the crowded problem's six days
    outside = tuple(held(900 + p.id, saturday, 10, person_id=p.id) for p in problem.people)
    problem = dataclasses.replace(problem, outside=outside)
    answer = solve_cp_sat(build_index(problem), [], problem.time_limit_s)
    assert answer.placements
    assert hard_violations(problem, answer.placements) == []
