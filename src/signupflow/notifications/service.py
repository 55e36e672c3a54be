"""The one way to notify someone: `enqueue` writes an outbox row in the caller's transaction
(so a rolled-back change sends nothing), and the worker sends it later. The helpers below
snapshot what the e-mail should say at the moment of the change."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from signupflow.assignments.models import Assignment
from signupflow.events.models import Event
from signupflow.notifications.models import Notification, NotificationKind
from signupflow.tenancy import get_scoped, scoped

# Payload fields that are secrets: dropped from the row once the e-mail is sent.
SECRET_FIELDS = frozenset({"token"})


def enqueue(
    session: Session,
    *,
    organisation_id: int | None,
    person_id: int | None,
    kind: NotificationKind,
    data: dict[str, Any],
    dedupe_key: str,
) -> bool:
    """Queue one e-mail to a person. True when queued; False when this organisation already
    queued `dedupe_key` (the same event never mails twice, even from concurrent requests).
    A sign-up mail precedes its organisation and person: both None, and `data` names the
    recipient ("to", "name", "language", "organisation")."""
    values = {
        "organisation_id": organisation_id,
        "person_id": person_id,
        "kind": kind,
        "payload": data,
        "dedupe_key": dedupe_key[:200],
        "next_attempt_at": datetime.now(UTC),
        "created_at": datetime.now(UTC),
    }
    # INSERT .. ON CONFLICT DO NOTHING: a concurrent duplicate neither fails nor sends twice.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Notification).values(**values).on_conflict_do_nothing()
    # RETURNING, not rowcount: drivers disagree on the rowcount of a skipped insert.
    return session.execute(stmt.returning(Notification.id)).scalar() is not None


def shift_snapshot(event: Event, assignment: Assignment) -> dict[str, Any]:
    """One shift as an e-mail shows it, frozen at the moment it is queued."""
    return {
        "event_id": event.id,
        "event_title": event.title,
        "location": event.location,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "role": assignment.role,
    }


def schedule_published(
    session: Session, *, organisation_id: int, schedule_key: str, assignment_ids: Iterable[int]
) -> int:
    """One e-mail per person listing their shifts in a newly published schedule. Call it in
    the publishing transaction; `schedule_key` identifies the publication (e.g.
    f"{schedule_id}:{version}") so publishing the same version twice mails nobody twice.
    Returns how many e-mails were queued."""
    ids = sorted(set(assignment_ids))
    if not ids:
        return 0
    rows = session.execute(
        scoped(
            select(Assignment, Event)
            .join(Event, Event.id == Assignment.event_id)
            .where(Assignment.id.in_(ids))
            .order_by(Event.starts_at, Assignment.id),
            Assignment,
            organisation_id,
        )
    ).all()
    shifts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for assignment, event in rows:
        shifts[assignment.person_id].append(shift_snapshot(event, assignment))
    queued = 0
    for person_id, items in shifts.items():
        queued += enqueue(
            session,
            organisation_id=organisation_id,
            person_id=person_id,
            kind=NotificationKind.SCHEDULE_PUBLISHED,
            data={"shifts": items},
            dedupe_key=f"schedule:{schedule_key}:person:{person_id}",
        )
    return queued


def assignment_changed(
    session: Session,
    *,
    organisation_id: int,
    assignment_id: int,
    change: str,
    change_key: str,
) -> bool:
    """Tell the assigned person that their shift was created, changed or cancelled.
    `change` is "assigned", "updated" or "cancelled"; `change_key` tells distinct changes of
    one assignment apart (e.g. an audit entry id), so a retried request mails once. Call it
    before deleting the assignment."""
    if change not in {"assigned", "updated", "cancelled"}:
        raise ValueError(f"unknown change {change!r}")
    assignment = get_scoped(session, Assignment, assignment_id, organisation_id)
    event = get_scoped(session, Event, assignment.event_id, organisation_id)
    return enqueue(
        session,
        organisation_id=organisation_id,
        person_id=assignment.person_id,
        kind=NotificationKind.ASSIGNMENT_CHANGED,
        data={**shift_snapshot(event, assignment), "change": change},
        dedupe_key=f"assignment:{assignment_id}:{change}:{change_key}",
    )
