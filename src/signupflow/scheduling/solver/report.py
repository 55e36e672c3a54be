"""What a result says besides the placements: why seats stay empty, how evenly the work is
spread, and what changed since the published schedule."""

from __future__ import annotations

import statistics
from collections import Counter

from signupflow.scheduling.solver.index import Index, Roster
from signupflow.scheduling.solver.problem import Changes, Fairness, Placement, Unfilled
from signupflow.scheduling.solver.rules import unavailable_reason

UNFILLED_REASONS = {
    "no_qualified_person": "nobody holds this role",
    "everyone_unavailable": "everyone who holds this role is unavailable or on time off",
    "everyone_busy_or_at_limit": (
        "everyone qualified and available already serves at a conflicting time, is at "
        "their weekly or monthly limit, or needs their rest"
    ),
}


def unfilled(index: Index, placements: list[Placement]) -> list[Unfilled]:
    """Each slot with empty seats and why. Engines fill every seat anyone could still take,
    so the last reason means exactly that nobody could."""
    roster = Roster.starting_with_fixed(index)
    for placement in placements:
        roster.place(placement)
    found = []
    for slot_id in sorted(index.slots):
        empty = index.open_seats[slot_id] - roster.taken[slot_id]
        if empty <= 0:
            continue
        slot = index.slots[slot_id]
        holders = [p for p in index.people.values() if slot.role in p.roles]
        if not holders:
            reason = "no_qualified_person"
        elif all(unavailable_reason(p, index.local[slot_id]) for p in holders):
            reason = "everyone_unavailable"
        else:
            reason = "everyone_busy_or_at_limit"
        found.append(Unfilled(slot_id, empty, reason, f"'{slot.role}': {UNFILLED_REASONS[reason]}"))
    return found


def fairness(index: Index, placements: list[Placement]) -> Fairness:
    load = Counter(p.person_id for p in placements)
    load.update(f.person_id for f in index.problem.fixed if f.person_id in index.people)
    people = sorted(index.eligible)
    if not people:
        return Fairness(0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    counts = [load[p] for p in people]
    relative = [load[p] / index.eligible[p] for p in people]
    return Fairness(
        people=len(people),
        min=min(counts),
        max=max(counts),
        mean=round(statistics.fmean(counts), 3),
        stdev=round(statistics.pstdev(counts), 3),
        relative_min=round(min(relative), 4),
        relative_max=round(max(relative), 4),
        relative_stdev=round(statistics.pstdev(relative), 4),
    )


def changes(previous: tuple[Placement, ...], placements: list[Placement]) -> Changes:
    before, after = set(previous), set(placements)
    return Changes(
        kept=tuple(sorted(before & after)),
        added=tuple(sorted(after - before)),
        removed=tuple(sorted(before - after)),
    )
