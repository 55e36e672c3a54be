"""The deterministic heuristic: keep what is still valid, then fill the hardest slots first,
each seat with the least-loaded person relative to their availability. It is the fallback
when CP-SAT is missing or finds nothing better, and CP-SAT's starting hint."""

from __future__ import annotations

from signupflow.scheduling.solver.index import Index, Roster
from signupflow.scheduling.solver.problem import Placement


def _tiebreak(seed: int, slot_id: int, person_id: int) -> int:
    # A fixed mix of the ids: spreads ties without Python's per-process hash randomisation.
    return (person_id * 2_654_435_761 + slot_id * 40_503 + seed * 97) % 4_294_967_291


def fill(index: Index, roster: Roster) -> None:
    """Fill every open seat that some candidate can still take, hardest slots first."""
    seed = index.problem.seed
    order = sorted(
        index.slots.values(),
        key=lambda s: (len(index.candidates[s.id]) / s.capacity, s.starts_at, s.id),
    )
    for slot in order:
        while roster.taken[slot.id] < index.open_seats[slot.id]:
            best: tuple[float, int, int, int] | None = None
            for person_id in index.candidates[slot.id]:
                placement = Placement(slot.id, person_id)
                if not roster.can_place(placement):
                    continue
                key = (
                    (roster.load[person_id] + 1) / index.eligible[person_id],
                    -index.preference.get(placement, 0),
                    _tiebreak(seed, slot.id, person_id),
                    person_id,
                )
                if best is None or key < best:
                    best = key
            if best is None:
                break
            roster.place(Placement(slot.id, best[3]))


def keep_previous(index: Index, roster: Roster) -> None:
    for placement in sorted(set(index.problem.previous)):
        if placement.slot_id not in index.slots or placement.person_id not in index.people:
            continue
        if placement.person_id in index.candidates[placement.slot_id] and roster.can_place(
            placement
        ):
            roster.place(placement)


def solve_greedy(index: Index) -> list[Placement]:
    roster = Roster.starting_with_fixed(index)
    keep_previous(index, roster)
    fill(index, roster)
    return sorted(roster.placed)
