"""Sign-ups and assignments. Capacity lives in `EventSlot.filled`, changed only by conditional
UPDATEs: the database serialises concurrent sign-ups on the slot row (a row lock on
PostgreSQL, the write lock on SQLite), so a slot can never be overbooked."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from signupflow.assignments.models import Assignment, AssignmentSource, AssignmentStatus
from signupflow.audit.service import record_for
from signupflow.db.pagination import paginate
from signupflow.deps import Principal
from signupflow.errors import AlreadyAssigned, Conflict, NotFound, PermissionDenied, SlotFull
from signupflow.events.models import Event, EventSlot, EventStatus
from signupflow.events.service import get_event
from signupflow.people.models import MemberRole, Person
from signupflow.tenancy import get_scoped, scoped


def _person(session: Session, principal: Principal, person_id: int) -> Person:
    return get_scoped(
        session,
        Person,
        person_id,
        principal.organisation_id,
        options=(selectinload(Person.skills),),
    )


def _claim_seat(session: Session, slot: EventSlot) -> None:
    # Must be the transaction's first write: on SQLite it takes the write lock here.
    claimed = session.execute(
        update(EventSlot)
        .where(EventSlot.id == slot.id, EventSlot.filled < EventSlot.capacity)
        .values(filled=EventSlot.filled + 1)
    ).rowcount  # type: ignore[attr-defined]
    if claimed == 0:
        raise SlotFull(f"all {slot.capacity} places for '{slot.role}' are taken")


def _release_seat(session: Session, slot_id: int) -> None:
    session.execute(
        update(EventSlot)
        .where(EventSlot.id == slot_id, EventSlot.filled > 0)
        .values(filled=EventSlot.filled - 1)
    )


def _assign(
    session: Session,
    principal: Principal,
    event: Event,
    person: Person,
    role: str,
    source: AssignmentSource,
    status: AssignmentStatus,
) -> Assignment:
    if not person.active:
        raise Conflict(f"{person.name} is inactive")
    if role not in person.roles:
        raise Conflict(f"{person.name} does not hold the role '{role}'")
    slot = next((s for s in event.slots if s.role == role), None)
    if slot is None:
        raise NotFound(f"this event has no '{role}' slot")
    already = session.scalar(
        select(Assignment.id).where(
            Assignment.event_id == event.id, Assignment.person_id == person.id
        )
    )
    if already is not None:
        raise AlreadyAssigned(f"{person.name} is already assigned to this event")
    _claim_seat(session, slot)
    assignment = Assignment(
        organisation_id=principal.organisation_id,
        event_id=event.id,
        slot_id=slot.id,
        person_id=person.id,
        role=role,
        status=status,
        source=source,
    )
    session.add(assignment)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request assigned the same person first
        raise AlreadyAssigned(f"{person.name} is already assigned to this event") from exc
    record_for(
        session,
        principal,
        action="assign",
        entity="assignment",
        entity_id=assignment.id,
        changes={
            "event_id": event.id,
            "person_id": person.id,
            "role": role,
            "source": source.value,
        },
    )
    return assignment


def sign_up(session: Session, principal: Principal, event_id: int, role: str) -> Assignment:
    """The caller takes an open place in one of a published event's role slots."""
    if principal.person_id is None:
        raise PermissionDenied("your account has no volunteer profile in this organisation")
    event = get_event(session, principal, event_id)
    if event.status != EventStatus.PUBLISHED:
        raise Conflict("this event is not open for sign-up")
    if event.starts_at <= datetime.now(UTC):
        raise Conflict("this event has already started")
    person = _person(session, principal, principal.person_id)
    return _assign(
        session,
        principal,
        event,
        person,
        role,
        AssignmentSource.SELF_SIGNUP,
        AssignmentStatus.CONFIRMED,
    )


def assign(
    session: Session, principal: Principal, event_id: int, person_id: int, role: str
) -> Assignment:
    """A scheduler places someone; they confirm or decline later."""
    event = get_event(session, principal, event_id)
    if event.status == EventStatus.CANCELLED:
        raise Conflict("this event is cancelled")
    person = _person(session, principal, person_id)
    return _assign(
        session, principal, event, person, role, AssignmentSource.MANUAL, AssignmentStatus.PENDING
    )


def cancel(session: Session, principal: Principal, assignment_id: int) -> None:
    """Give the place back. Volunteers cancel their own; schedulers anyone's."""
    assignment = get_scoped(session, Assignment, assignment_id, principal.organisation_id)
    if assignment.person_id != principal.person_id and not principal.at_least(MemberRole.SCHEDULER):
        raise PermissionDenied("you can only cancel your own assignments")
    deleted = session.execute(delete(Assignment).where(Assignment.id == assignment.id)).rowcount  # type: ignore[attr-defined]
    if deleted == 0:  # a concurrent cancellation won; the seat was released once, by it
        raise NotFound(f"assignment {assignment_id} not found")
    _release_seat(session, assignment.slot_id)
    record_for(
        session,
        principal,
        action="cancel",
        entity="assignment",
        entity_id=assignment_id,
        changes={"event_id": assignment.event_id, "person_id": assignment.person_id},
    )


def release_all_for_person(session: Session, organisation_id: int, person_id: int) -> None:
    """Before a person is deleted: give back every place they held."""
    slot_ids = session.scalars(
        scoped(select(Assignment.slot_id), Assignment, organisation_id).where(
            Assignment.person_id == person_id
        )
    ).all()
    for slot_id in slot_ids:
        _release_seat(session, slot_id)
    session.execute(delete(Assignment).where(Assignment.person_id == person_id))


def list_assignments(
    session: Session,
    principal: Principal,
    *,
    event_id: int | None,
    person_id: int | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Assignment], int]:
    stmt = scoped(select(Assignment), Assignment, principal.organisation_id)
    if event_id is not None:
        get_event(session, principal, event_id)  # 404 for unknown or invisible events
        stmt = stmt.where(Assignment.event_id == event_id)
    if person_id is not None:
        stmt = stmt.where(Assignment.person_id == person_id)
    if starts_from is not None or starts_before is not None:
        stmt = stmt.join(Event, Event.id == Assignment.event_id)
        if starts_from is not None:
            stmt = stmt.where(Event.starts_at >= starts_from)
        if starts_before is not None:
            stmt = stmt.where(Event.starts_at < starts_before)
    if not principal.at_least(MemberRole.SCHEDULER):
        # Volunteers see who serves at published events, never draft plans.
        stmt = stmt.where(
            Assignment.event_id.in_(select(Event.id).where(Event.status != EventStatus.DRAFT))
        )
    ordered = stmt.order_by(Assignment.event_id, Assignment.role, Assignment.id)
    return paginate(session, ordered, limit=limit, offset=offset)


# Publishing a schedule moves the same capacity counter, through these same UPDATEs.
claim_seat = _claim_seat
release_seat = _release_seat
