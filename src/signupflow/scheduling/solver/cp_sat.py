"""The CP-SAT model (OR-Tools, the optional `solver` extra; imported only when used).

Determinism: CP-SAT gives the same answer for the same model only with a fixed `random_seed`
and a fixed `num_workers`; with more than one worker it also needs `interleave_search`, and
the search must be stopped by the deterministic time limit, not the wall clock (the wall
clock stops it at a different point on every run). So the deterministic limit is the time
limit and the wall-clock limit is only a safety net, reported when it fired."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from signupflow.scheduling.solver.index import W_FAIR, W_FILL, Index, fair_range
from signupflow.scheduling.solver.problem import Placement
from signupflow.scheduling.solver.rules import pair_conflict

# Above this many person-slot pairs, each seat keeps only a sample of its candidates (plus the
# hint's and the published ones): the 1,000-volunteer workload has ~330,000 pairs, which CP-SAT
# cannot even load within the time limit, while 24 candidates per seat leave it ample choice.
MAX_PAIRS = 40_000
CANDIDATES_PER_SEAT = 24
WALL_CLOCK_MARGIN = 2.0  # the wall-clock safety net, as a multiple of the time limit


@dataclass(frozen=True)
class CpSatAnswer:
    placements: list[Placement]
    status: str
    wall_clock_stopped: bool
    pruned: bool


def ortools_available() -> bool:
    try:
        import ortools.sat.python.cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def _sample(index: Index, hint: list[Placement]) -> tuple[dict[int, list[int]], bool]:
    pairs = sum(len(c) for c in index.candidates.values())
    if pairs <= MAX_PAIRS:
        return index.candidates, False
    must = defaultdict(set)
    for p in [*hint, *index.problem.previous]:
        must[p.slot_id].add(p.person_id)
    seed = index.problem.seed
    sampled = {}
    for slot_id, people in index.candidates.items():
        keep = CANDIDATES_PER_SEAT * max(1, index.open_seats[slot_id])
        ranked = sorted(people, key=lambda pid: (pid * 7_919 + slot_id * 104_729 + seed) % 65_521)
        chosen = set(ranked[:keep]) | (must[slot_id] & set(people))
        sampled[slot_id] = sorted(chosen)
    return sampled, True


def solve_cp_sat(index: Index, hint: list[Placement], time_limit_s: float) -> CpSatAnswer:
    from ortools.sat.python import cp_model

    problem = index.problem
    candidates, pruned = _sample(index, hint)
    model = cp_model.CpModel()
    x: dict[Placement, cp_model.IntVar] = {}
    for slot_id in sorted(candidates):
        if index.open_seats[slot_id] == 0:
            continue
        for person_id in candidates[slot_id]:
            x[Placement(slot_id, person_id)] = model.new_bool_var(f"x{slot_id}_{person_id}")

    by_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_person: dict[int, list[Placement]] = defaultdict(list)
    for placement, var in x.items():
        by_slot[placement.slot_id].append(var)
        by_person[placement.person_id].append(placement)
    for slot_id, variables in by_slot.items():
        if len(variables) > index.open_seats[slot_id]:
            model.add(sum(variables) <= index.open_seats[slot_id])

    fixed_load: dict[int, int] = defaultdict(int)
    fixed_week: dict[tuple[int, tuple[int, int]], int] = defaultdict(int, index.outside_week)
    fixed_month: dict[tuple[int, tuple[int, int]], int] = defaultdict(int, index.outside_month)
    for f in problem.fixed:
        if f.slot_id in index.slots and f.person_id in index.people:
            fixed_load[f.person_id] += 1
            fixed_week[f.person_id, index.local[f.slot_id].week] += 1
            fixed_month[f.person_id, index.local[f.slot_id].month] += 1

    hinted = set(hint)
    unfairness = []
    for person_id, placements in sorted(by_person.items()):
        person = index.people[person_id]
        ordered = sorted(placements, key=lambda p: (index.slots[p.slot_id].starts_at, p.slot_id))
        per_event: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        weeks: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
        months: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
        for i, a in enumerate(ordered):
            slot_a = index.slots[a.slot_id]
            per_event[slot_a.event_id].append(x[a])
            weeks[index.local[a.slot_id].week].append(x[a])
            months[index.local[a.slot_id].month].append(x[a])
            for b in ordered[i + 1 :]:
                slot_b = index.slots[b.slot_id]
                if slot_b.starts_at >= slot_a.ends_at + person.min_rest:
                    break
                if slot_b.event_id != slot_a.event_id and pair_conflict(person, slot_a, slot_b):
                    model.add_bool_or([x[a].Not(), x[b].Not()])
        for variables in per_event.values():
            if len(variables) > 1:
                model.add_at_most_one(variables)
        for limit, periods, fixed in (
            (person.max_per_week, weeks, fixed_week),
            (person.max_per_month, months, fixed_month),
        ):
            if limit is None:
                continue
            for period, variables in periods.items():
                room = max(0, limit - fixed[person_id, period])
                if len(variables) > room:
                    model.add(sum(variables) <= room)
        low, high = fair_range(index, person_id)
        load = fixed_load[person_id] + sum(x[p] for p in placements)
        most = fixed_load[person_id] + len(placements)
        hinted_load = fixed_load[person_id] + sum(p in hinted for p in placements)
        # A complete hint (these too): CP-SAT starts from a full solution instead of repairing.
        if most > high:
            over = model.new_int_var(0, most - high, f"over{person_id}")
            model.add(over >= load - high)
            model.add_hint(over, max(0, hinted_load - high))
            unfairness.append(over)
        if low > fixed_load[person_id]:
            under = model.new_int_var(0, low, f"under{person_id}")
            model.add(under >= low - load)
            model.add_hint(under, max(0, low - hinted_load))
            unfairness.append(under)

    previous = set(problem.previous)
    model.maximize(
        sum(
            (W_FILL + index.keep_weight * (p in previous) + index.preference.get(p, 0)) * var
            for p, var in x.items()
        )
        - W_FAIR * sum(unfairness)
    )
    for placement, var in x.items():
        model.add_hint(var, placement in hinted)

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = problem.seed
    params.num_workers = problem.num_workers
    params.interleave_search = problem.num_workers > 1
    params.max_deterministic_time = time_limit_s
    params.max_time_in_seconds = time_limit_s * WALL_CLOCK_MARGIN
    # Fills dominate the objective; stopping within 0.01 % of the bound only forgoes a
    # fraction of a fairness unit, and proving the last unit can take the whole limit.
    params.relative_gap_limit = 1e-4
    started = time.monotonic()
    status = solver.solve(model)
    elapsed = time.monotonic() - started
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpSatAnswer([], name, False, pruned)
    chosen = sorted(p for p, var in x.items() if solver.boolean_value(var))
    deterministic_stop = solver.deterministic_time >= time_limit_s or status == cp_model.OPTIMAL
    wall_stopped = not deterministic_stop and elapsed >= time_limit_s * WALL_CLOCK_MARGIN * 0.99
    return CpSatAnswer(chosen, name, wall_stopped, pruned)
