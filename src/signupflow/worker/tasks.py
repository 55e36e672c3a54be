"""The tasks a worker runs, like api.ROUTERS for routes: add one here and every worker (the
`signupflow worker` process and the development thread inside `serve`) runs it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from signupflow.db.session import unit_of_work
from signupflow.notifications.mailer import Mailer
from signupflow.notifications.outbox import claim_one, deliver, lease_for, update_queue_gauge
from signupflow.notifications.reminders import enqueue_due_reminders
from signupflow.scheduling.runs import claim_next, run_claimed
from signupflow.scheduling.runs import update_queue_gauge as update_solver_queue_gauge
from signupflow.settings import Settings


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    mailer: Mailer
    # Set on SIGTERM: a task finishes the item in hand and returns.
    stop: threading.Event


@dataclass(frozen=True)
class Task:
    name: str
    run: Callable[[TaskContext], int]  # returns how many items it handled
    interval_s: float | None = None  # None: every poll


def send_notifications(ctx: TaskContext) -> int:
    handled = 0
    lease = lease_for(ctx.settings)
    while not ctx.stop.is_set():
        with unit_of_work(ctx.session_factory) as session:
            claimed = claim_one(session, lease=lease)
        if claimed is None:
            break
        deliver(ctx.session_factory, ctx.mailer, ctx.settings, claimed)
        handled += 1
    return handled


def measure_queue_depth(ctx: TaskContext) -> int:
    # A COUNT over the outbox: timed, not on every poll. Handles no item, so the worker
    # still sleeps.
    update_queue_gauge(ctx.session_factory)
    return 0


def measure_solver_queue_depth(ctx: TaskContext) -> int:
    # The worker queue alert (deploy/monitoring/rules/worker.yml) reads this gauge.
    update_solver_queue_gauge(ctx.session_factory)
    return 0


def queue_shift_reminders(ctx: TaskContext) -> int:
    with unit_of_work(ctx.session_factory) as session:
        return enqueue_due_reminders(session, hours_before=ctx.settings.reminder_hours_before)


def run_queued_solves(ctx: TaskContext) -> int:
    handled = 0
    while not ctx.stop.is_set():
        with unit_of_work(ctx.session_factory) as session:
            schedule_id = claim_next(session)
        if schedule_id is None:
            break
        run_claimed(ctx.session_factory, schedule_id)
        handled += 1
    return handled


TASKS: tuple[Task, ...] = (
    Task("solver_runs", run_queued_solves),
    Task("shift_reminders", queue_shift_reminders, interval_s=60.0),
    Task("send_notifications", send_notifications),
    # After sending, so the first measurement already reflects this poll's work.
    Task("notification_queue_depth", measure_queue_depth, interval_s=30.0),
    Task("solver_queue_depth", measure_solver_queue_depth, interval_s=30.0),
)
