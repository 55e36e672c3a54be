"""Solver runs in the background worker (SOLVER_IN_WORKER): the web image stays small and its
request threads free, while the worker image carries CP-SAT.

A worker claims the oldest queued schedule with a conditional UPDATE (several workers never
claim the same one), solves it in its own transaction, and marks it failed when that raises.
A claim is a lease: a schedule still `running` after CLAIM_LEASE (its worker died) is
claimed again."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from signupflow.db.base import utcnow
from signupflow.db.session import unit_of_work
from signupflow.scheduling.models import Schedule, ScheduleStatus
from signupflow.scheduling.solve import solve_schedule

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=10)


def claim_next(session: Session, *, lease: timedelta = CLAIM_LEASE) -> int | None:
    """The id of the schedule this caller now owns, or None when nothing waits."""
    now = utcnow()
    claimable = or_(
        Schedule.status == ScheduleStatus.QUEUED,
        (Schedule.status == ScheduleStatus.RUNNING) & (Schedule.claimed_at < now - lease),
    )
    # Candidates oldest first; one another worker claimed meanwhile is skipped.
    for candidate in session.scalars(
        select(Schedule.id).where(claimable).order_by(Schedule.id).limit(100)
    ):
        claimed = session.execute(
            update(Schedule)
            .where(Schedule.id == candidate, claimable)
            .values(status=ScheduleStatus.RUNNING, claimed_at=now)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return candidate
    return None


def run_claimed(session_factory: sessionmaker[Session], schedule_id: int) -> bool:
    """Solve one claimed schedule; False (and the schedule marked failed) when it raised."""
    try:
        with unit_of_work(session_factory) as session:
            schedule = session.get(Schedule, schedule_id)
            if schedule is None:  # deleted with its organisation meanwhile
                return True
            solve_schedule(session, schedule)
        return True
    except Exception as exc:  # a failed run is recorded, never retried in a loop
        log.exception("solver run failed", extra={"schedule_id": schedule_id})
        with unit_of_work(session_factory) as session:
            schedule = session.get(Schedule, schedule_id)
            if schedule is not None:
                # Only while still ours: after an expired lease another worker may have
                # finished it.
                session.execute(
                    update(Schedule)
                    .where(Schedule.id == schedule_id, Schedule.status == ScheduleStatus.RUNNING)
                    .values(
                        status=ScheduleStatus.FAILED,
                        report={**schedule.report, "error": type(exc).__name__},
                    )
                )
        return False
