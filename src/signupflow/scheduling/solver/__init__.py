"""The scheduling solver: a pure function from a `Problem` to a `Result` (no database, no
HTTP). CP-SAT (OR-Tools) is used when installed; the greedy heuristic always runs."""

from signupflow.scheduling.solver.engine import figures, solve
from signupflow.scheduling.solver.problem import (
    Changes,
    Commitment,
    DayRange,
    Fairness,
    Figures,
    Person,
    Placement,
    Problem,
    Result,
    Slot,
    Timing,
    Unfilled,
    Violation,
    Window,
)
from signupflow.scheduling.solver.report import UNFILLED_REASONS
from signupflow.scheduling.solver.rules import RULES, absence_reason, hard_violations

__all__ = [
    "RULES",
    "UNFILLED_REASONS",
    "Changes",
    "Commitment",
    "DayRange",
    "Fairness",
    "Figures",
    "Person",
    "Placement",
    "Problem",
    "Result",
    "Slot",
    "Timing",
    "Unfilled",
    "Violation",
    "Window",
    "absence_reason",
    "figures",
    "hard_violations",
    "solve",
]
