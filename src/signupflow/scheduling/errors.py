from __future__ import annotations

from signupflow.errors import DomainError, ServiceUnavailable


class ScheduleRuleBroken(DomainError):
    """A hand edit or a publish would break a hard scheduling rule; `rule` names it."""

    status, type, title = 409, "/problems/schedule-rule-broken", "A scheduling rule would break"


class RoleNotHeld(DomainError):
    status, type, title = 422, "/problems/schedule-rule-broken", "The person lacks this role"


class ScheduleStateConflict(DomainError):
    status, type, title = 409, "/problems/schedule-state", "Not possible in this schedule state"


class PublishConflict(DomainError):
    """Publishing would overfill a slot or clash with what changed since the draft was made;
    nothing was changed."""

    status, type, title = 409, "/problems/publish-conflict", "The schedule cannot be published"


class SolveInProgress(DomainError):
    """The organisation already has a queued or running solve: one at a time, so one
    organisation cannot take every solver and database session."""

    status, type, title = 409, "/problems/solve-in-progress", "A schedule is already being made"


class SolverBusy(ServiceUnavailable):
    """Every solver slot of this process is taken (MAX_CONCURRENT_SOLVES): a capacity limit of
    the server, not of the caller, hence 503 with Retry-After."""
