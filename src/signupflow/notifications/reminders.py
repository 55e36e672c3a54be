"""Shift reminders: a periodic task queues one e-mail per assignment, REMINDER_HOURS_BEFORE
the shift. The dedupe key includes the start time, so a shift moved later is reminded again
and an unchanged one never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.assignments.models import Assignment, AssignmentStatus
from signupflow.events.models import Event, EventStatus
from signupflow.notifications.models import Notification, NotificationKind
from signupflow.notifications.service import enqueue, shift_snapshot


def _dedupe_key(assignment: Assignment, event: Event) -> str:
    return f"reminder:{assignment.id}:{event.starts_at.isoformat()}"


def enqueue_due_reminders(
    session: Session, *, hours_before: int, now: datetime | None = None
) -> int:
    now = now or datetime.now(UTC)
    # Across every organisation: the worker serves them all, each row keeps its own.
    rows = session.execute(
        select(Assignment, Event)
        .join(Event, Event.id == Assignment.event_id)
        .where(
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at > now,
            Event.starts_at <= now + timedelta(hours=hours_before),
            Assignment.status != AssignmentStatus.DECLINED,
        )
        .order_by(Event.starts_at, Assignment.id)
    ).all()
    if not rows:
        return 0
    # Most are queued already (this runs every minute): one query finds which, and only the
    # rest are inserted. enqueue's ON CONFLICT still covers a concurrent worker.
    existing = {
        (organisation_id, key)
        for organisation_id, key in session.execute(
            select(Notification.organisation_id, Notification.dedupe_key).where(
                Notification.kind == NotificationKind.SHIFT_REMINDER,
                Notification.person_id.in_(sorted({a.person_id for a, _ in rows})),
                Notification.dedupe_key.in_(sorted({_dedupe_key(a, e) for a, e in rows})),
            )
        )
    }
    queued = 0
    for assignment, event in rows:
        key = _dedupe_key(assignment, event)
        if (assignment.organisation_id, key) in existing:
            continue
        queued += enqueue(
            session,
            organisation_id=assignment.organisation_id,
            person_id=assignment.person_id,
            kind=NotificationKind.SHIFT_REMINDER,
            data=shift_snapshot(event, assignment),
            dedupe_key=key,
        )
    return queued
