"""Random solver instances with a known full schedule, for property tests."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import strategies as st

from signupflow.scheduling.solver import DayRange, Person, Placement, Problem, Slot, Window

ROLES = ("usher", "greeter", "musician", "teacher")
MONDAY = datetime(2031, 3, 3, tzinfo=UTC)  # a Monday; the instances use UTC as local time


@st.composite
def feasible_instances(draw: st.DrawFn, *, max_events: int = 6) -> tuple[Problem, set[Placement]]:
    """Events on distinct days, each with role slots, and one designated person per seat who
    can take it under every hard rule; extra people and constraints around them."""
    events = draw(st.integers(1, max_events))
    days = sorted(draw(st.lists(st.integers(0, 40), min_size=events, max_size=events, unique=True)))
    people_count = draw(st.integers(2, 8))
    slots: list[Slot] = []
    known: set[Placement] = set()
    serving: dict[int, list[Slot]] = defaultdict(list)
    for event_id, day in enumerate(days, start=1):
        starts = MONDAY + timedelta(days=day, hours=draw(st.integers(8, 18)))
        roles = draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True))
        free = list(range(1, people_count + 1))
        for role in roles:
            capacity = draw(st.integers(1, min(2, len(free))))
            slot = Slot(
                len(slots) + 1, event_id, role, starts, starts + timedelta(hours=2), capacity
            )
            slots.append(slot)
            for _ in range(capacity):
                person_id = draw(st.sampled_from(free))
                free.remove(person_id)
                known.add(Placement(slot.id, person_id))
                serving[person_id].append(slot)
            if not free:
                break
    people = []
    for person_id in range(1, people_count + 1):
        mine = serving[person_id]
        roles = {s.role for s in mine} | set(draw(st.lists(st.sampled_from(ROLES), max_size=2)))
        windows: tuple[Window, ...] = ()
        if mine and draw(st.booleans()):
            windows = tuple(
                Window(s.starts_at.weekday(), s.starts_at.time(), s.ends_at.time()) for s in mine
            )
        busy_days = {s.starts_at.date() for s in mine}
        time_off = tuple(
            DayRange(d, d)
            for d in draw(st.lists(st.integers(0, 42), max_size=4))
            if (d_ := (MONDAY + timedelta(days=d)).date()) not in busy_days
            for d in [d_]
        )
        weeks = defaultdict(int)
        months = defaultdict(int)
        for s in mine:
            weeks[s.starts_at.isocalendar()[:2]] += 1
            months[(s.starts_at.year, s.starts_at.month)] += 1
        rest_ok = min(
            ((b.starts_at - a.ends_at) for a, b in itertools.pairwise(mine)),
            default=timedelta(days=30),
        )
        people.append(
            Person(
                person_id,
                frozenset(roles),
                windows=windows,
                time_off=time_off,
                max_per_week=max(weeks.values(), default=0) + draw(st.integers(0, 1))
                if draw(st.booleans())
                else None,
                max_per_month=max(months.values(), default=0) if draw(st.booleans()) else None,
                min_rest=min(rest_ok, timedelta(hours=draw(st.integers(0, 30)))),
                preferred_roles=frozenset(draw(st.lists(st.sampled_from(ROLES), max_size=1))),
                avoid_weekdays=frozenset(draw(st.lists(st.integers(0, 6), max_size=2))),
            )
        )
    problem = Problem(tuple(slots), tuple(people), time_limit_s=3.0, seed=draw(st.integers(0, 9)))
    return problem, known


def slot(slot_id: int, event_id: int, role: str, day: date, hour: int, capacity: int = 1) -> Slot:
    starts = datetime.combine(day, time(hour), UTC)
    return Slot(slot_id, event_id, role, starts, starts + timedelta(hours=2), capacity)
