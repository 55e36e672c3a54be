"""The hard rules, stated once, and the independent checker every result goes through.

The solver builds its model from the same facts (roles, calendar), but the checker below
re-derives every rule from the placements alone, so a modelling mistake shows up as a
violation instead of a silently wrong schedule. Tests use the same checker."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from signupflow.scheduling.solver.calendar import LocalSlot, localise, on_time_off, within_windows
from signupflow.scheduling.solver.problem import Person, Placement, Problem, Slot, Violation

RULES = {
    "unknown": "the slot or person is not part of the problem",
    "duplicate": "the same person is placed twice in one slot",
    "role": "the person does not hold the slot's role",
    "excluded": "the person declined this event",
    "availability": "outside the person's weekly availability",
    "time_off": "during the person's time off",
    "capacity": "more people than the slot's capacity",
    "one_role_per_event": "the person already serves in another role at this event",
    "overlap": "the person already serves at an overlapping time",
    "min_rest": "less than the person's minimum rest between shifts",
    "weekly_limit": "more than the person's assignments per week",
    "monthly_limit": "more than the person's assignments per month",
}


def absences(person: Person, local: LocalSlot) -> list[str]:
    """Why this person is away when this slot happens: "time_off", "availability", both or
    neither. The one statement of the rule: sign-ups, assignments, swaps and waitlist
    promotions ask it too (availability/eligibility.py), with the person's windows and time
    off read the same way."""
    found = ["time_off"] if on_time_off(person, local) else []
    return found if within_windows(person, local) else [*found, "availability"]


def absence_reason(person: Person, local: LocalSlot) -> str | None:
    """The first of `absences`, or None when the person is there."""
    return next(iter(absences(person, local)), None)


def unavailable_reason(person: Person, local: LocalSlot) -> str | None:
    """Why this person can never take this slot, whatever else is scheduled."""
    if local.slot.role not in person.roles:
        return "role"
    return absence_reason(person, local)


def pair_conflict(person: Person, a: Slot, b: Slot) -> str | None:
    """Why one person cannot take both slots."""
    if a.event_id == b.event_id:
        return "one_role_per_event"
    if a.starts_at < b.ends_at and b.starts_at < a.ends_at:
        return "overlap"
    first, second = (a, b) if a.starts_at <= b.starts_at else (b, a)
    if second.starts_at - first.ends_at < person.min_rest:
        return "min_rest"
    return None


def hard_violations(problem: Problem, placements: Iterable[Placement]) -> list[Violation]:
    """Every hard rule broken by `placements` together with the problem's fixed placements and
    the places held outside the range. Those are facts: a violation is reported only when a new
    placement is involved, except a kept place its person is now away for (time off or
    availability changed after they took it), unless an admin overrode that very rule
    (`problem.overridden`)."""
    zone = ZoneInfo(problem.timezone)
    in_range = {s.id: s for s in problem.slots}
    slots = in_range | {c.slot.id: c.slot for c in problem.outside}
    people = {p.id: p for p in problem.people}
    new = list(placements)
    found: list[Violation] = []

    def add(rule: str, placement: Placement, detail: str = "") -> None:
        found.append(Violation(rule, placement.slot_id, placement.person_id, detail or RULES[rule]))

    counted = Counter(new)
    fixed_set = set(problem.fixed)
    for placement, times in sorted(counted.items()):
        if times > 1 or placement in fixed_set:
            add("duplicate", placement)
    valid = [p for p in dict.fromkeys(new) if p.slot_id in in_range and p.person_id in people]
    valid_set = set(valid)
    for placement in dict.fromkeys(new):
        if placement not in valid_set:
            add("unknown", placement)
    locals_ = {s.id: localise(s, zone) for s in slots.values()}
    excluded = set(problem.excluded)
    for placement in valid:
        reason = unavailable_reason(people[placement.person_id], locals_[placement.slot_id])
        if reason:
            add(reason, placement)
        elif placement in excluded:
            add("excluded", placement)
    overridden = set(problem.overridden)
    for placement in dict.fromkeys(problem.fixed):
        if placement.slot_id in in_range and placement.person_id in people:
            person, local = people[placement.person_id], locals_[placement.slot_id]
            broken = [r for r in absences(person, local) if (placement, r) not in overridden]
            if broken:
                add(broken[0], placement, f"a kept place: {RULES[broken[0]]}")

    fixed = [p for p in problem.fixed if p.slot_id in in_range and p.person_id in people]
    fixed += [c.placement for c in problem.outside if c.person_id in people]
    # Kept places of people the problem does not list (inactive now) still take a seat.
    absent = Counter(p.slot_id for p in problem.fixed if p.slot_id in in_range and p not in fixed)
    is_new = {p: True for p in valid} | {p: False for p in fixed}
    per_slot: dict[int, list[Placement]] = defaultdict(list)
    per_person: dict[int, list[Placement]] = defaultdict(list)
    for placement in is_new:
        per_slot[placement.slot_id].append(placement)
        per_person[placement.person_id].append(placement)

    for slot_id, taken in sorted(per_slot.items()):
        capacity = slots[slot_id].capacity
        held = len(taken) + absent[slot_id]
        if held > capacity and any(is_new[p] for p in taken):
            over = [p for p in taken if is_new[p]][-1]
            add("capacity", over, f"{held} people for {capacity} places")

    for person_id, taken in sorted(per_person.items()):
        person = people[person_id]
        ordered = sorted(taken, key=lambda p: (slots[p.slot_id].starts_at, p.slot_id))
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                if not (is_new[a] or is_new[b]):
                    continue
                conflict = pair_conflict(person, slots[a.slot_id], slots[b.slot_id])
                if conflict:
                    add(conflict, b if is_new[b] else a, f"slots {a.slot_id} and {b.slot_id}")
        for rule, limit, key in (
            ("weekly_limit", person.max_per_week, "week"),
            ("monthly_limit", person.max_per_month, "month"),
        ):
            if limit is None:
                continue
            periods: dict[tuple[int, int], list[Placement]] = defaultdict(list)
            for placement in ordered:
                periods[getattr(locals_[placement.slot_id], key)].append(placement)
            for period, inside in sorted(periods.items()):
                if len(inside) > limit and any(is_new[p] for p in inside):
                    over = [p for p in inside if is_new[p]][-1]
                    add(rule, over, f"{len(inside)} in {key} {period}, limit {limit}")
    return found
