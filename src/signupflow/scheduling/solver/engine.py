"""`solve(problem)`: the greedy heuristic, then CP-SAT from its answer, then the independent
check. Same problem, same result (see cp_sat.py for what CP-SAT's determinism needs)."""

from __future__ import annotations

import time

from signupflow.scheduling.solver import cp_sat
from signupflow.scheduling.solver.greedy import fill, solve_greedy
from signupflow.scheduling.solver.index import Index, Roster, build_index, score, upper_bound
from signupflow.scheduling.solver.problem import Figures, Placement, Problem, Result, Timing
from signupflow.scheduling.solver.report import changes, fairness, unfilled
from signupflow.scheduling.solver.rules import hard_violations


def solve(problem: Problem) -> Result:
    started = time.monotonic()
    index = build_index(problem)
    greedy = solve_greedy(index)
    greedy_done = time.monotonic()
    placements, engine, status = greedy, "greedy", "heuristic"
    note = "greedy heuristic only (CP-SAT not requested)"
    if problem.use_cp_sat and score(index, greedy) >= upper_bound(index):
        status, note = "OPTIMAL", "greedy heuristic: its answer reaches the upper bound"
    elif problem.use_cp_sat and not cp_sat.ortools_available():
        note = "greedy heuristic only: OR-Tools is not installed (pip install 'signupflow[solver]')"
    elif problem.use_cp_sat:
        remaining = max(0.1, problem.time_limit_s - (greedy_done - started))
        answer = cp_sat.solve_cp_sat(index, greedy, remaining)
        status = answer.status
        if answer.placements and score(index, answer.placements) >= score(index, greedy):
            # Seats CP-SAT's sample of candidates left empty are filled like the greedy does.
            roster = Roster.starting_with_fixed(index)
            for placement in answer.placements:
                roster.place(placement)
            fill(index, roster)
            placements, engine = sorted(roster.placed), "cp-sat"
            note = "CP-SAT from the greedy hint"
        else:
            note = f"greedy heuristic: CP-SAT found nothing better ({answer.status})"
        if answer.pruned:
            note += f"; {cp_sat.CANDIDATES_PER_SEAT} sampled candidates per seat"
        if answer.wall_clock_stopped:
            note += "; stopped by the wall clock, so a rerun may differ"
    cp_done = time.monotonic()
    return Result(
        **vars(figures(problem, placements, index)),
        assignments=tuple(placements),
        engine=engine,
        engine_note=note,
        status=status,
        timing=Timing(
            greedy_s=round(greedy_done - started, 4),
            cp_sat_s=round(cp_done - greedy_done, 4),
            total_s=round(time.monotonic() - started, 4),
        ),
    )


def figures(problem: Problem, placements: list[Placement], index: Index | None = None) -> Figures:
    """Every figure of a schedule from its placements (besides the problem's fixed ones): the
    same for a run's answer and for a draft edited by hand since."""
    index = index or build_index(problem)
    return Figures(
        unfilled=tuple(unfilled(index, placements)),
        violations=tuple(hard_violations(problem, placements)),
        fairness=fairness(index, placements),
        changes=changes(problem.previous, placements),
        seats=index.seats,
        filled=len(placements) + sum(1 for f in problem.fixed if f.slot_id in index.slots),
    )
