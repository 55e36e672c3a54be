"""Shift reminders: a periodic task queues one e-mail per assignment, REMINDER_HOURS_BEFORE
the shift. The dedupe key includes the start time, so a shift moved later is reminded again
and an unchanged one never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.assignments.models import Assignment, AssignmentStatus
from signupflow.events.models import Event, EventStatus
from signupflow.notifications.models import NotificationKind
from signupflow.notifications.service import enqueue


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
    queued = 0
    for assignment, event in rows:
        queued += enqueue(
            session,
            organisation_id=assignment.organisation_id,
            person_id=assignment.person_id,
            kind=NotificationKind.SHIFT_REMINDER,
            data={
                "event_id": event.id,
                "event_title": event.title,
                "location": event.location,
                "starts_at": event.starts_at.isoformat(),
                "ends_at": event.ends_at.isoformat(),
                "role": assignment.role,
            },
            dedupe_key=f"reminder:{assignment.id}:{event.starts_at.isoformat()}",
        )
    return queued
