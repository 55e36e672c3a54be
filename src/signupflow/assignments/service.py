"""Sign-ups and assignments: the use cases of taking a place (sign up, assign), answering
for it (respond) and giving it back (cancel), and listing who serves. Places themselves are
counted and moved by the seat ledger (ledger.py), which every use case here goes through."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, select, update
from sqlalchemy.orm import Session, selectinload

from signupflow.actor import Actor
from signupflow.assignments.errors import AssignmentNotPending
from signupflow.assignments.ledger import (
    ACTIVE,
    close_swap_offers,
    detach_swaps,
    eligible_slot,
    freeing_seats,
    place,
    reload,
    tell,
)
from signupflow.assignments.models import Assignment, AssignmentSource, AssignmentStatus
from signupflow.assignments.started import refuse_after_start, refuse_volunteer_after_start
from signupflow.audit.service import record
from signupflow.availability.eligibility import require_there
from signupflow.db.base import as_text
from signupflow.db.pagination import given_filters, paginate_rows
from signupflow.errors import Conflict, PermissionDenied, ResourceNotFound
from signupflow.events.models import Event, EventSlot, EventStatus
from signupflow.events.service import ensure_visible, get_event, visible_events_of
from signupflow.people.models import MemberRole, Person
from signupflow.tenancy import ORGANISATION, get_scoped, scoped


def load_person(session: Session, actor: Actor, person_id: int) -> Person:
    return get_scoped(
        session,
        Person,
        person_id,
        actor.organisation_id,
        options=(selectinload(Person.skills),),
    )


def self_service(
    session: Session, actor: Actor, event_id: int, role: str
) -> tuple[Event, Person, EventSlot]:
    """What signing up and joining a waitlist both require of the caller and the event: a
    volunteer profile, an event open for sign-up, a slot they may take (`eligible_slot`), and
    being there when it happens (`require_there`)."""
    if actor.person_id is None:
        raise PermissionDenied(
            "your account has no volunteer profile in this organisation", code="account.no_person"
        )
    event = get_event(session, actor, event_id)
    if event.status != EventStatus.PUBLISHED:
        raise Conflict("this event is not open for sign-up", code="event.not_open_for_signup")
    refuse_after_start(event)
    person = load_person(session, actor, actor.person_id)
    slot = eligible_slot(event, person, role)
    require_there(session, actor, event, person)
    return event, person, slot


def sign_up(session: Session, actor: Actor, event_id: int, role: str) -> Assignment:
    """The caller takes an open place in one of a published event's role slots."""
    event, person, slot = self_service(session, actor, event_id, role)
    return place(
        session,
        actor,
        event,
        person,
        slot,
        AssignmentSource.SELF_SIGNUP,
        AssignmentStatus.CONFIRMED,
    )


def assign(
    session: Session,
    actor: Actor,
    event_id: int,
    person_id: int,
    role: str,
    *,
    override: bool = False,
) -> Assignment:
    """A scheduler places someone; they confirm or decline later. Someone away then only by
    an admin's explicit `override`, which the assignment keeps and the audit log records."""
    event = get_event(session, actor, event_id)
    if event.status == EventStatus.CANCELLED:
        raise Conflict("this event is cancelled", code="event.cancelled")
    person = load_person(session, actor, person_id)
    slot = eligible_slot(event, person, role)
    overridden = require_there(session, actor, event, person, override=override)
    assignment = place(
        session,
        actor,
        event,
        person,
        slot,
        AssignmentSource.MANUAL,
        AssignmentStatus.PENDING,
        overridden_rule=overridden,
    )
    tell(session, assignment, "assigned", f"manual:{assignment.id}")
    return assignment


def _may_act_for(actor: Actor, person_id: int, what: str) -> None:
    if not actor.may_act_for(person_id):
        raise PermissionDenied(
            f"you can only {what} your own assignments",
            code="assignment.own_only",
            params={"action": what},
        )


def respond(session: Session, actor: Actor, assignment_id: int, *, accept: bool) -> Assignment:
    """The assigned person (or a scheduler for them) confirms or declines a pending
    assignment. A decline frees the place, which goes to the waitlist if anyone waits."""
    assignment = get_scoped(session, Assignment, assignment_id, actor.organisation_id)
    _may_act_for(actor, assignment.person_id, "respond to")
    refuse_volunteer_after_start(session, actor, assignment.event_id)
    new_status = AssignmentStatus.CONFIRMED if accept else AssignmentStatus.DECLINED
    if not accept:
        # Swap rows before the assignment, in the order taking a swap locks them: the
        # opposite order could deadlock with a concurrent take. Undone if the UPDATE fails.
        close_swap_offers(session, assignment.id)
    # The conditional UPDATE decides between concurrent responses.
    changed = session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.status == AssignmentStatus.PENDING)
        .values(status=new_status)
    ).rowcount  # type: ignore[attr-defined]
    if changed == 0:
        current = session.scalar(select(Assignment.status).where(Assignment.id == assignment.id))
        if current is None:  # cancelled a moment ago
            raise ResourceNotFound(Assignment, assignment_id)
        raise AssignmentNotPending(
            f"assignment {assignment_id} is already {current.value}",
            code="assignment.not_pending",
            params={"id": assignment_id, "status": current.value},
        )
    if not accept:
        with freeing_seats(session, actor) as seats:
            seats.free(assignment.slot_id)
    record(
        session,
        actor,
        action="accept" if accept else "decline",
        entity="assignment",
        entity_id=assignment.id,
        changes={"event_id": assignment.event_id, "person_id": assignment.person_id},
    )
    return reload(session, assignment.id)


def cancel(session: Session, actor: Actor, assignment_id: int) -> None:
    """Give the place back (it goes to the waitlist if anyone waits). Volunteers cancel their
    own; schedulers anyone's. Cancelling a declined row only removes it from the history."""
    assignment = get_scoped(session, Assignment, assignment_id, actor.organisation_id)
    _may_act_for(actor, assignment.person_id, "cancel")
    refuse_volunteer_after_start(session, actor, assignment.event_id)
    slot_id, event_id, person_id = assignment.slot_id, assignment.event_id, assignment.person_id
    if person_id != actor.person_id and assignment.status in ACTIVE:
        tell(session, assignment, "cancelled", f"cancel:{actor.user_id}")
    detach_swaps(session, [assignment.id])
    status = session.execute(
        delete(Assignment).where(Assignment.id == assignment.id).returning(Assignment.status)
    ).scalar_one_or_none()
    if status is None:  # a concurrent cancellation won; the seat was released once, by it
        raise ResourceNotFound(Assignment, assignment_id)
    if status in ACTIVE:
        with freeing_seats(session, actor) as seats:
            seats.free(slot_id)
    record(
        session,
        actor,
        action="cancel",
        entity="assignment",
        entity_id=assignment_id,
        changes={"event_id": event_id, "person_id": person_id},
    )


# What a listing shows of an assignment: AssignmentRead's fields, in its order; columns, not
# entities, written straight to JSON.
ASSIGNMENT_COLUMNS = (
    Assignment.id,
    Assignment.event_id,
    Assignment.slot_id,
    Assignment.person_id,
    Assignment.role,
    as_text(Assignment.status),
    as_text(Assignment.source),
    Assignment.created_at,
    Assignment.overridden_rule,
)


def list_assignments(
    session: Session,
    actor: Actor,
    *,
    event_id: int | None,
    person_id: int | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Row[*tuple[Any, ...]]], int]:
    filters, params = given_filters(
        actor.organisation_id,
        event_id=event_id,
        person_id=person_id,
        starts_from=starts_from,
        starts_before=starts_before,
    )
    stmt = _assignments_page(every_event=actor.at_least(MemberRole.SCHEDULER), filters=filters)
    rows, total = paginate_rows(session, stmt, limit=limit, offset=offset, params=params)
    if event_id is not None and not rows:
        # The page reads only events the caller may see, so rows prove the event is there
        # for them; only an empty page asks (404 for an event that is not, or is not theirs).
        # One statement fewer for an event with assignments.
        ensure_visible(session, actor, event_id)
    return rows, total


@functools.cache
def _assignments_page(*, every_event: bool, filters: frozenset[str]) -> Select[*tuple[Any, ...]]:
    # Who serves at the events the caller may see: volunteers never see draft plans. The
    # events are the organisation's too, so a date range reads only its events (PostgreSQL
    # hashed every organisation's events for `from`, tests/api/test_query_plans.py).
    stmt = scoped(
        scoped(select(*ASSIGNMENT_COLUMNS), Assignment, ORGANISATION).join(
            Event, Event.id == Assignment.event_id
        ),
        Event,
        ORGANISATION,
    )
    stmt = visible_events_of(stmt, every_event=every_event)
    if "event_id" in filters:
        stmt = stmt.where(Assignment.event_id == bindparam("event_id"))
    if "person_id" in filters:
        stmt = stmt.where(Assignment.person_id == bindparam("person_id"))
    if "starts_from" in filters:
        stmt = stmt.where(Event.starts_at >= bindparam("starts_from"))
    if "starts_before" in filters:
        stmt = stmt.where(Event.starts_at < bindparam("starts_before"))
    return stmt.order_by(Assignment.event_id, Assignment.role, Assignment.id)
