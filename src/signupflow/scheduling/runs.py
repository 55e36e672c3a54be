"""A solver run's life: admitted, solved (at once, or later by the background worker), done.

One run per organisation at a time: a new schedule is stored `queued` or `running`, and the
unique index uq_schedules_one_active_run refuses a second one, whichever instance asks. So one
organisation cannot take every solver and database session while the others wait.

With SOLVER_IN_WORKER the API stores the run `queued`; a worker claims the oldest queued
schedule with a conditional UPDATE (several workers never claim the same one), solves it in
its own transaction, and marks it failed when that raises. Otherwise the request solves it
itself, having first stored it `running` in a transaction of its own so that every instance
sees it. Either way the claim is a lease: a schedule still `running` after CLAIM_LEASE (its
process died) is claimed again by a worker, or marked failed when its organisation asks for
a new run, so a crash never blocks an organisation for longer than the lease."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from signupflow.db.base import utcnow
from signupflow.db.session import unit_of_work
from signupflow.ops.metrics import SOLVER_QUEUED
from signupflow.scheduling.errors import SolveInProgress, SolverBusy
from signupflow.scheduling.models import Schedule, ScheduleStatus
from signupflow.scheduling.solve import new_run, solve_schedule
from signupflow.tenancy import get_scoped, scoped

log = logging.getLogger(__name__)
# Far longer than any run takes (SOLVER_TIME_LIMIT_S is at most 120 s).
CLAIM_LEASE = timedelta(minutes=10)
ACTIVE = (ScheduleStatus.QUEUED, ScheduleStatus.RUNNING)


def _mark_failed(session: Session, schedule_id: int, error: str, *conditions: Any) -> bool:
    """Mark a run failed, naming why, only while it is still running (and `conditions`
    hold): after an expired lease another process may have finished it."""
    report = session.scalar(select(Schedule.report).where(Schedule.id == schedule_id))
    if report is None:  # deleted with its organisation meanwhile
        return False
    marked = session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.status == ScheduleStatus.RUNNING, *conditions)
        .values(status=ScheduleStatus.FAILED, report={**report, "error": error})
    )
    return bool(marked.rowcount)  # type: ignore[attr-defined]


def _expire_abandoned(session: Session, organisation_id: int, *, lease: timedelta) -> None:
    cutoff = utcnow() - lease
    stale = session.scalars(
        scoped(select(Schedule.id), Schedule, organisation_id).where(
            Schedule.status == ScheduleStatus.RUNNING, Schedule.claimed_at < cutoff
        )
    ).all()
    for schedule_id in stale:
        if _mark_failed(session, schedule_id, "LeaseExpired", Schedule.claimed_at < cutoff):
            log.warning("abandoned solver run expired", extra={"schedule_id": schedule_id})


def admit(session: Session, schedule: Schedule, *, lease: timedelta = CLAIM_LEASE) -> Schedule:
    """Store a new run unless its organisation has one queued or running: SolveInProgress
    (409, with Retry-After) then. A run abandoned by a dead process no longer counts."""
    _expire_abandoned(session, schedule.organisation_id, lease=lease)
    try:
        # A savepoint, so that after a refusal this transaction can still say which run
        # is in the way. On PostgreSQL a concurrent insert waits here until the other
        # transaction ends: both of them are short.
        with session.begin_nested():
            session.add(schedule)
            session.flush()
    except IntegrityError:
        active = session.scalars(
            scoped(select(Schedule), Schedule, schedule.organisation_id)
            .where(Schedule.status.in_(ACTIVE))
            .order_by(Schedule.id)
            .limit(1)
        ).first()
        if active is None:  # not the one-run index: another constraint failed
            raise
        retry_after = max(1, math.ceil(active.report.get("request", {}).get("time_limit_s", 1)))
        raise SolveInProgress(
            f"schedule {active.id} is {active.status.value}; one solve at a time",
            code="schedule.solve_in_progress",
            params={"schedule_id": active.id, "status": active.status.value},
            retry_after=retry_after,
        ) from None
    set_committed_value(schedule, "entries", [])
    return schedule


def queue(session: Session, **run: Any) -> Schedule:
    """A schedule waiting for a worker, in the caller's transaction; arguments as `new_run`."""
    return admit(session, new_run(**run))


def solve_now(
    session: Session, session_factory: sessionmaker[Session], slots: SolveSlots, **run: Any
) -> Schedule:
    """Solve in the caller's transaction; arguments as `new_run`. The run is first stored
    `running` in a short transaction of its own (committed, so every instance sees it and
    the organisation's next solve is refused meanwhile), then solved in one of this process's
    `slots` and made a draft here, or marked failed when solving raises. The organisation's
    rule comes first: ten solves of one organisation at once get one run and nine 409s, not
    503s for the slots. A run refused a slot is removed: the refusal leaves nothing behind."""
    schedule = new_run(**run)
    schedule.status, schedule.claimed_at = ScheduleStatus.RUNNING, utcnow()
    with unit_of_work(session_factory) as claim:
        schedule_id = admit(claim, schedule).id
    try:
        with slots.held():
            # Not found only when the organisation was deleted meanwhile (its rows cascade).
            running = get_scoped(session, Schedule, schedule_id, schedule.organisation_id)
            return solve_schedule(session, running)
    except SolverBusy:
        with unit_of_work(session_factory) as cleanup:
            cleanup.execute(delete(Schedule).where(Schedule.id == schedule_id))
        raise
    except Exception as exc:
        # This transaction's writes lock the row about to be marked: undo them first.
        session.rollback()
        with unit_of_work(session_factory) as cleanup:
            _mark_failed(cleanup, schedule_id, type(exc).__name__)
        raise


class SolveSlots:
    """How many solves may run inside requests in this process at once
    (MAX_CONCURRENT_SOLVES). Each holds a database session for up to SOLVER_TIME_LIMIT_S;
    one run per organisation still lets many organisations together hold every session
    slot (app.py's session_slots), which would stall every other request. A request beyond
    the cap is refused at once (503 with Retry-After), never queued behind them."""

    def __init__(self, size: int, *, retry_after_s: float) -> None:
        self._free = threading.BoundedSemaphore(size)
        self.retry_after = max(1, math.ceil(retry_after_s))

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self._free.acquire(blocking=False):
            raise SolverBusy(
                "every solver slot is busy; try again shortly",
                code="schedule.solver_busy",
                params={"retry_after": self.retry_after},
                retry_after=self.retry_after,
            )
        try:
            yield
        finally:
            self._free.release()


def queue_depth(session: Session) -> int:
    """Runs waiting for a worker; one claimed by a worker that died counts once it is
    claimed again, not while its lease runs."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Schedule)
            .where(Schedule.status == ScheduleStatus.QUEUED)
        )
        or 0
    )


def update_queue_gauge(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        depth = queue_depth(session)
    SOLVER_QUEUED.set(depth)
    return depth


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
            _mark_failed(session, schedule_id, type(exc).__name__)
        return False
