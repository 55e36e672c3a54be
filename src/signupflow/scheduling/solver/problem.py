"""The solver's input and output: plain frozen values, no database, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class Slot:
    """A role slot of an event: `capacity` people are needed from `starts_at` to `ends_at`."""

    id: int
    event_id: int
    role: str
    starts_at: datetime  # aware UTC
    ends_at: datetime
    capacity: int

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError(f"slot {self.id}: times must be aware datetimes")
        if self.ends_at <= self.starts_at:
            raise ValueError(f"slot {self.id}: ends before it starts")
        if self.capacity < 1:
            raise ValueError(f"slot {self.id}: capacity must be at least 1")


@dataclass(frozen=True)
class Window:
    """A weekly window in the organisation's local time; 0 = Monday."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class DayRange:
    """Local dates, both inclusive."""

    first: date
    last: date


@dataclass(frozen=True)
class Person:
    id: int
    roles: frozenset[str]
    windows: tuple[Window, ...] = ()  # none: available at any time
    time_off: tuple[DayRange, ...] = ()
    max_per_week: int | None = None
    max_per_month: int | None = None
    min_rest: timedelta = timedelta(0)
    preferred_roles: frozenset[str] = frozenset()
    avoid_weekdays: frozenset[int] = frozenset()


@dataclass(frozen=True, order=True)
class Placement:
    """One person in one slot."""

    slot_id: int
    person_id: int


@dataclass(frozen=True)
class Commitment:
    """A place a person already holds outside the solved range. It is never changed, but it
    counts toward their weekly and monthly limits, overlaps and rest: a month half inside the
    range still allows only `max_per_month` in all."""

    slot: Slot
    person_id: int

    @property
    def placement(self) -> Placement:
        return Placement(self.slot.id, self.person_id)


@dataclass(frozen=True)
class Problem:
    slots: tuple[Slot, ...]
    people: tuple[Person, ...]
    # Kept whatever happens (confirmed assignments, self sign-ups); they take capacity and time.
    fixed: tuple[Placement, ...] = ()
    # The published schedule: kept where still valid (minimal change).
    previous: tuple[Placement, ...] = ()
    # Never allowed, e.g. the slots of an event a person declined.
    excluded: tuple[Placement, ...] = ()
    # Fixed places an admin gave although the person is away then, with the rule overridden
    # ("time_off" or "availability"): shown, audited, allowed; any other rule still counts.
    overridden: tuple[tuple[Placement, str], ...] = ()
    # Places held just before and after the range (see Commitment).
    outside: tuple[Commitment, ...] = ()
    timezone: str = "UTC"
    time_limit_s: float = 5.0
    seed: int = 0
    # CP-SAT is deterministic only with a fixed worker count (see engine.py).
    num_workers: int = 1
    use_cp_sat: bool = True


@dataclass(frozen=True)
class Violation:
    """A broken hard rule. `rule` is one of RULES in rules.py."""

    rule: str
    slot_id: int
    person_id: int
    detail: str


@dataclass(frozen=True)
class Unfilled:
    slot_id: int
    seats: int
    reason: str  # one of UNFILLED_REASONS in report.py
    detail: str


@dataclass(frozen=True)
class Fairness:
    """Assignments per person who could serve at least once, absolute and relative to the
    number of slots each could fill."""

    people: int
    min: int
    max: int
    mean: float
    stdev: float
    relative_min: float
    relative_max: float
    relative_stdev: float

    @property
    def spread(self) -> int:
        return self.max - self.min


@dataclass(frozen=True)
class Changes:
    kept: tuple[Placement, ...]
    added: tuple[Placement, ...]
    removed: tuple[Placement, ...]


@dataclass(frozen=True)
class Timing:
    greedy_s: float
    cp_sat_s: float
    total_s: float


@dataclass(frozen=True)
class Figures:
    """What a set of placements amounts to, whoever made them (a run or hand edits)."""

    unfilled: tuple[Unfilled, ...]
    violations: tuple[Violation, ...]
    fairness: Fairness
    changes: Changes
    seats: int
    filled: int

    @property
    def coverage(self) -> float:
        return self.filled / self.seats if self.seats else 1.0


@dataclass(frozen=True)
class Result(Figures):
    """A run's answer: its figures (checked independently: the run's own placements never
    break a rule unless there is a bug; a kept place its person is now away for does), the
    new placements (problem.fixed are not repeated) and how it ran."""

    assignments: tuple[Placement, ...]
    engine: str  # "cp-sat" or "greedy"
    engine_note: str
    status: str  # CP-SAT's status, or "heuristic"
    timing: Timing = field(compare=False)
