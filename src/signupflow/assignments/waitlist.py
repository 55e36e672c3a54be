"""Waitlists: people waiting, in order, for a place in a full slot. Promotion happens in the
seat ledger (ledger.py), in the transaction that frees the place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session, aliased

from signupflow.actor import Actor
from signupflow.assignments.errors import AlreadyAssigned
from signupflow.assignments.ledger import active_at_event, lock_full_slot
from signupflow.assignments.models import WaitlistEntry
from signupflow.assignments.service import self_service
from signupflow.assignments.started import refuse_volunteer_after_start
from signupflow.audit.service import record
from signupflow.db.conflicts import savepoint
from signupflow.db.pagination import paginate_rows
from signupflow.errors import PermissionDenied, ResourceNotFound
from signupflow.events.service import ensure_visible
from signupflow.people.models import MemberRole
from signupflow.tenancy import get_scoped, scoped


def _with_position(stmt: Select[Any]) -> Select[Any]:
    ahead = aliased(WaitlistEntry)
    position = (
        select(func.count(ahead.id))
        .where(ahead.slot_id == WaitlistEntry.slot_id, ahead.id <= WaitlistEntry.id)
        .correlate(WaitlistEntry)
        .scalar_subquery()
    )
    return stmt.add_columns(position)


def _positioned(session: Session, entry_id: int) -> tuple[WaitlistEntry, int]:
    row: Any = session.execute(
        _with_position(select(WaitlistEntry).where(WaitlistEntry.id == entry_id))
    ).one()
    return row[0], row[1]


def join(session: Session, actor: Actor, event_id: int, role: str) -> tuple[WaitlistEntry, int]:
    """The caller queues for a place in a full slot; returns the entry and its position."""
    event, person, slot = self_service(session, actor, event_id, role)
    if active_at_event(session, event.id, person.id):
        raise AlreadyAssigned(person.name)
    lock_full_slot(session, slot)
    # Asked again under the slot's lock: an assignment committed since the first look counts.
    if active_at_event(session, event.id, person.id):
        raise AlreadyAssigned(person.name)
    entry = WaitlistEntry(
        organisation_id=actor.organisation_id,
        event_id=event.id,
        slot_id=slot.id,
        person_id=person.id,
        role=role,
    )
    with savepoint(session):  # the same person joining twice at once: one entry
        session.add(entry)
        session.flush()
    record(
        session,
        actor,
        action="join",
        entity="waitlist_entry",
        entity_id=entry.id,
        changes={"event_id": event.id, "person_id": person.id, "role": role},
    )
    return _positioned(session, entry.id)


def leave(session: Session, actor: Actor, entry_id: int) -> None:
    """Leave a waitlist: your own entry, or anyone's for schedulers."""
    entry = get_scoped(session, WaitlistEntry, entry_id, actor.organisation_id)
    if not actor.may_act_for(entry.person_id):
        raise PermissionDenied(
            "you can only leave your own waitlist places", code="waitlist.own_only"
        )
    refuse_volunteer_after_start(session, actor, entry.event_id)
    left = session.execute(delete(WaitlistEntry).where(WaitlistEntry.id == entry.id)).rowcount  # type: ignore[attr-defined]
    if left == 0:  # promoted or removed a moment ago
        raise ResourceNotFound(WaitlistEntry, entry_id)
    record(
        session,
        actor,
        action="leave",
        entity="waitlist_entry",
        entity_id=entry_id,
        changes={"event_id": entry.event_id, "person_id": entry.person_id},
    )


def list_entries(
    session: Session,
    actor: Actor,
    *,
    event_id: int | None,
    only_mine: bool,
    limit: int,
    offset: int,
) -> tuple[list[tuple[WaitlistEntry, int]], int]:
    """Entries in line order (by slot, then position) with their positions."""
    stmt = scoped(select(WaitlistEntry), WaitlistEntry, actor.organisation_id)
    if event_id is not None:
        ensure_visible(session, actor, event_id)
        stmt = stmt.where(WaitlistEntry.event_id == event_id)
    if only_mine or not actor.at_least(MemberRole.SCHEDULER):
        # Volunteers see their own places in line, not who else waits.
        stmt = stmt.where(WaitlistEntry.person_id == actor.person_id)
    ordered = _with_position(stmt).order_by(WaitlistEntry.slot_id, WaitlistEntry.id)
    rows, total = paginate_rows(session, ordered, limit=limit, offset=offset)
    return [(row[0], row[1]) for row in rows], total
