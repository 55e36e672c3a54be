"""The seat ledger: who holds a place in which role slot, and how many places each slot has
left. Every domain that gives places or takes them back does it here: sign-ups and
assignments, waitlists, swaps, publishing a schedule, deleting or reactivating a person, and
changing an event's slots. `make check` fails on a write of `EventSlot.filled` anywhere else.

Invariants, all held by the database, never by a read before a write:
- Capacity lives in `EventSlot.filled`, changed only by conditional UPDATEs: concurrent
  claims queue on the slot row (a row lock on PostgreSQL, the write lock on SQLite), so a
  slot can never be overbooked, and the counter equals the active assignments.
- A place that comes free goes to the first eligible person on the slot's waitlist in the
  same transaction, after the slot row is locked: promotions see every earlier promotion, so
  a waitlisted person is promoted once. `freeing_seats` is the only way to give a place back
  and `fill_open_places` the only way to promote, so no path frees a place and skips the line.
- Nobody is both assigned to an event and waiting for a place at it.
- One lock order everywhere: the slot row, then waitlist rows, then the assignment's unique
  key (swap rows before the assignment they refer to).

The ledger imports no domain service: it records through the audit log and the outbox, which
import nothing above them, so every service can build on it without an import cycle."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Select, case, delete, exists, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from signupflow.actor import Actor
from signupflow.assignments.errors import (
    AlreadyAssigned,
    AssignmentNotActive,
    SlotFull,
    SlotHasRoom,
)
from signupflow.assignments.models import (
    Assignment,
    AssignmentSource,
    AssignmentStatus,
    WaitlistEntry,
)
from signupflow.assignments.started import has_started
from signupflow.audit.service import record
from signupflow.availability.eligibility import away_at
from signupflow.db.conflicts import savepoint
from signupflow.errors import Conflict, NotFound
from signupflow.events.models import Event, EventSlot, EventStatus
from signupflow.notifications import service as notifications
from signupflow.people.models import Person
from signupflow.swaps.models import SwapRequest, SwapState
from signupflow.tenancy import get_scoped, scoped

# Rows that hold a place; declined rows stay as history and hold none.
ACTIVE = (AssignmentStatus.PENDING, AssignmentStatus.CONFIRMED)


def claim_seat(session: Session, slot: EventSlot) -> None:
    # Must be the transaction's first write: on SQLite it takes the write lock here.
    claimed = session.execute(
        update(EventSlot)
        .where(EventSlot.id == slot.id, EventSlot.filled < EventSlot.capacity)
        .values(filled=EventSlot.filled + 1)
    ).rowcount  # type: ignore[attr-defined]
    if claimed == 0:
        raise SlotFull(slot)


def _release_seat(session: Session, slot_id: int) -> None:
    session.execute(
        update(EventSlot)
        .where(EventSlot.id == slot_id, EventSlot.filled > 0)
        .values(filled=EventSlot.filled - 1)
    )


def lock_slots(session: Session, slot_ids: Iterable[int]) -> None:
    """Take the slots' row locks (in slot id order, as everywhere; a write that changes
    nothing): whoever then reads `filled` sees the counter no claim can change until the
    commit."""
    for slot_id in sorted(slot_ids):
        session.execute(
            update(EventSlot).where(EventSlot.id == slot_id).values(filled=EventSlot.filled)
        )


def lock_full_slot(session: Session, slot: EventSlot) -> None:
    """Lock the slot row if, and only if, it is full (a write that changes nothing). Whoever
    joins a waitlist holds this lock, so no place can free up unseen in the meantime."""
    locked = session.execute(
        update(EventSlot)
        .where(EventSlot.id == slot.id, EventSlot.filled >= EventSlot.capacity)
        .values(filled=EventSlot.filled)
    ).rowcount  # type: ignore[attr-defined]
    if locked == 0:
        raise SlotHasRoom(slot.role)


class FreedSeats:
    """Places given back inside a `freeing_seats` block; `promoted` is filled when it ends."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.slot_ids: set[int] = set()
        self.promoted: list[Assignment] = []

    def free(self, slot_id: int) -> None:
        """Give back one place in the slot now (this locks the slot row)."""
        _release_seat(self._session, slot_id)
        self.slot_ids.add(slot_id)


@contextmanager
def freeing_seats(session: Session, actor: Actor) -> Iterator[FreedSeats]:
    """The one way to give places back: `seats.free(slot_id)` inside the block releases a
    place at once, and when the block ends each slot that got places back is filled from its
    waitlist, in slot order. Promoting at the end lets a publish claim places for its own
    plan first: the line gets what the new plan leaves free, and the slot is never overfilled."""
    seats = FreedSeats(session)
    yield seats
    for slot_id in sorted(seats.slot_ids):
        seats.promoted += fill_open_places(session, actor, slot_id)


def active_at_event(session: Session, event_id: int, person_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Assignment.event_id == event_id,
                    Assignment.person_id == person_id,
                    Assignment.status.in_(ACTIVE),
                )
            )
        )
    )


def reload(session: Session, assignment_id: int) -> Assignment:
    """The assignment as the database has it now (after conditional UPDATEs)."""
    return session.scalars(
        select(Assignment)
        .where(Assignment.id == assignment_id)
        .execution_options(populate_existing=True)
    ).one()


def eligible_slot(event: Event, person: Person, role: str) -> EventSlot:
    """The event's slot for `role`, if the person may take a place in it (however they come
    to it: signing up, joining its waitlist, a scheduler, a promotion)."""
    if not person.active:
        raise Conflict(
            f"{person.name} is inactive", code="person.inactive", params={"name": person.name}
        )
    if role not in person.roles:
        raise Conflict(
            f"{person.name} does not hold the role '{role}'",
            code="person.lacks_role",
            params={"name": person.name, "role": role},
        )
    slot = next((s for s in event.slots if s.role == role), None)
    if slot is None:
        raise NotFound(
            f"this event has no '{role}' slot", code="event.no_such_slot", params={"role": role}
        )
    return slot


def open_for_sign_up(event: Event) -> bool:
    return event.status == EventStatus.PUBLISHED and not has_started(event.starts_at)


def leave_waitlists(session: Session, event_id: int, person_id: int) -> set[int]:
    """Nobody is both assigned to an event and waiting for a place at it: whoever gets a place
    leaves the event's waitlists. Returns the entries removed. Lock order, everywhere: the
    slot row, then these waitlist rows, then the assignment's unique key; promotions into two
    slots for one person, or a promotion and a sign-up, then queue instead of deadlocking."""
    return set(
        session.scalars(
            delete(WaitlistEntry)
            .where(WaitlistEntry.event_id == event_id, WaitlistEntry.person_id == person_id)
            .returning(WaitlistEntry.id)
        ).all()
    )


def tell(session: Session, assignment: Assignment, change: str, change_key: str) -> None:
    """E-mail the assigned person about a change someone else made to their shift."""
    notifications.assignment_changed(
        session,
        organisation_id=assignment.organisation_id,
        assignment_id=assignment.id,
        change=change,
        change_key=change_key,
    )


def place(
    session: Session,
    actor: Actor,
    event: Event,
    person: Person,
    slot: EventSlot,
    source: AssignmentSource,
    status: AssignmentStatus,
    *,
    overridden_rule: str | None = None,
) -> Assignment:
    """Give `person` a place in `slot`, which `eligible_slot` returned for them, and who is
    there then (`availability.eligibility`, or an admin's override of `overridden_rule`)."""
    role, name = slot.role, person.name
    existing = session.execute(
        select(Assignment.id, Assignment.status).where(
            Assignment.event_id == event.id, Assignment.person_id == person.id
        )
    ).one_or_none()
    if existing is not None and existing.status in ACTIVE:
        raise AlreadyAssigned(name)
    claim_seat(session, slot)
    leave_waitlists(session, event.id, person.id)
    if existing is None:
        assignment = Assignment(
            organisation_id=actor.organisation_id,
            event_id=event.id,
            slot_id=slot.id,
            person_id=person.id,
            role=role,
            status=status,
            source=source,
            overridden_rule=overridden_rule,
        )
        # A concurrent request may have given them a place first (the unique key decides).
        with savepoint(session, collision=lambda: AlreadyAssigned(name)):
            session.add(assignment)
            session.flush()
    else:
        # Someone who declined may come back: their row (one per person and event) is reused,
        # and the decline stays in the audit log.
        revived = session.execute(
            update(Assignment)
            .where(Assignment.id == existing.id, Assignment.status == AssignmentStatus.DECLINED)
            .values(
                slot_id=slot.id,
                role=role,
                status=status,
                source=source,
                overridden_rule=overridden_rule,
            )
        ).rowcount  # type: ignore[attr-defined]
        if revived == 0:
            raise AlreadyAssigned(name)
        assignment = reload(session, existing.id)
    record(
        session,
        actor,
        action="assign",
        entity="assignment",
        entity_id=assignment.id,
        changes={
            "event_id": event.id,
            "person_id": person.id,
            "role": role,
            "source": source.value,
        }
        | ({"overridden_rule": overridden_rule} if overridden_rule else {}),
    )
    return assignment


def place_all(
    session: Session,
    actor: Actor,
    placements: Iterable[tuple[EventSlot, int]],
    *,
    source: AssignmentSource,
    status: AssignmentStatus,
) -> list[Assignment]:
    """Give each (slot, person id) a place, in one batch: the seats are claimed in the given
    order and the rows written in one flush. Raises `SlotFull` for the first slot without
    room; an `IntegrityError` from the flush means one of them was given a place at the event
    meanwhile. The caller records the batch as one change (a publish)."""
    created = []
    for slot, person_id in placements:
        claim_seat(session, slot)
        leave_waitlists(session, slot.event_id, person_id)
        assignment = Assignment(
            organisation_id=actor.organisation_id,
            event_id=slot.event_id,
            slot_id=slot.id,
            person_id=person_id,
            role=slot.role,
            status=status,
            source=source,
        )
        session.add(assignment)
        created.append(assignment)
    session.flush()
    return created


def close_swap_offers(session: Session, assignment_id: int) -> None:
    session.execute(
        update(SwapRequest)
        .where(
            SwapRequest.assignment_id == assignment_id,
            SwapRequest.state.in_((SwapState.OPEN, SwapState.AWAITING_APPROVAL)),
        )
        .values(state=SwapState.CANCELLED)
    )


def detach_swaps(session: Session, assignment_ids: list[int] | Select[int]) -> None:
    """Before assignments are deleted: every swap row that refers to them lets go (what the
    foreign key would do during the DELETE, but then after the assignment's lock, the
    opposite of the order taking a swap locks them: a deadlock), and open offers close."""
    session.execute(
        update(SwapRequest)
        .where(SwapRequest.assignment_id.in_(assignment_ids))
        .values(
            assignment_id=None,
            state=case(
                (
                    SwapRequest.state.in_((SwapState.OPEN, SwapState.AWAITING_APPROVAL)),
                    SwapState.CANCELLED,
                ),
                else_=SwapRequest.state,
            ),
        )
    )


def fill_open_places(session: Session, actor: Actor, slot_id: int) -> list[Assignment]:
    """Promote people from the slot's waitlist, first in line first, until the slot is full or
    nobody eligible waits; returns the new assignments. Called when places come free
    (`freeing_seats`) and when a slot grows."""
    # The slot's row lock first (a write that changes nothing): joining a waitlist takes it
    # too, so the counter and the line read below stay current until the commit.
    session.execute(
        scoped(update(EventSlot), EventSlot, actor.organisation_id)
        .where(EventSlot.id == slot_id)
        .values(filled=EventSlot.filled)
    )
    slot = session.scalars(
        scoped(select(EventSlot), EventSlot, actor.organisation_id)
        .where(EventSlot.id == slot_id)
        .execution_options(populate_existing=True)
    ).one()
    event = get_scoped(
        session,
        Event,
        slot.event_id,
        actor.organisation_id,
        options=(selectinload(Event.slots),),
    )
    open_places = slot.capacity - slot.filled
    if open_places <= 0 or not open_for_sign_up(event):
        return []
    # The whole line with each person and their roles in one query, not one per person.
    line = (
        session.execute(
            scoped(select(WaitlistEntry, Person), WaitlistEntry, actor.organisation_id)
            .join(Person, Person.id == WaitlistEntry.person_id)
            .where(WaitlistEntry.slot_id == slot_id)
            .order_by(WaitlistEntry.id)
            .options(joinedload(Person.skills))
        )
        .unique()
        .all()
    )
    # Who in line is away then, read once for the whole line (availability/eligibility.py).
    away = away_at(session, actor, event, [person.id for _, person in line])
    promoted: list[Assignment] = []
    for entry, person in line:
        if len(promoted) == open_places:
            break
        try:
            eligible_slot(event, person, slot.role)
        except Conflict:
            continue  # keeps their place in line in case they qualify again
        if person.id in away:
            continue  # the same: their time off or availability may change
        if entry.id not in leave_waitlists(session, event.id, person.id):
            continue  # they left the waitlist (or were promoted elsewhere) a moment ago
        try:
            # Someone already assigned at this event (another role) held a stale entry; one
            # assigned by a concurrent request right now meets the unique index. Either way
            # they are skipped, and the savepoint keeps the index error from failing the
            # whole cancellation or publish that freed the place.
            with session.begin_nested():
                assignment = place(
                    session,
                    actor,
                    event,
                    person,
                    slot,
                    AssignmentSource.SELF_SIGNUP,
                    AssignmentStatus.CONFIRMED,
                )
        except AlreadyAssigned:
            continue
        record(
            session,
            actor,
            action="promote",
            entity="assignment",
            entity_id=assignment.id,
            changes={"event_id": event.id, "person_id": person.id, "waitlist_entry_id": entry.id},
        )
        tell(session, assignment, "assigned", f"waitlist:{entry.id}")
        promoted.append(assignment)
    return promoted


def fill_places_waited_for(session: Session, actor: Actor, person_id: int) -> None:
    """After a person may serve again (reactivated, given a role back): places left open
    because nobody eligible was waiting may now be theirs."""
    slot_ids = session.scalars(
        scoped(select(WaitlistEntry.slot_id), WaitlistEntry, actor.organisation_id)
        .where(WaitlistEntry.person_id == person_id)
        .order_by(WaitlistEntry.slot_id)
    ).all()
    for slot_id in slot_ids:
        fill_open_places(session, actor, slot_id)


def reassign(
    session: Session, actor: Actor, assignment_id: int, from_person_id: int, to: Person
) -> Assignment:
    """Hand an active assignment to someone else (a swap): same slot, so no place changes
    hands with the counter. Fails if the assignment changed since it was offered."""
    event_id = session.scalar(select(Assignment.event_id).where(Assignment.id == assignment_id))
    # The taker's declined row at this event would break the one-row-per-person rule.
    session.execute(
        delete(Assignment).where(
            Assignment.event_id == event_id,
            Assignment.person_id == to.id,
            Assignment.status == AssignmentStatus.DECLINED,
        )
    )
    with savepoint(session, collision=lambda: AlreadyAssigned(to.name)):  # taken meanwhile
        moved = session.execute(
            update(Assignment)
            .where(
                Assignment.id == assignment_id,
                Assignment.person_id == from_person_id,
                Assignment.status.in_(ACTIVE),
            )
            # The taker was checked to be there (swaps.service): no override moves with it.
            .values(person_id=to.id, status=AssignmentStatus.CONFIRMED, overridden_rule=None)
        ).rowcount  # type: ignore[attr-defined]
    if moved == 0:
        raise AssignmentNotActive(
            "the offered assignment was cancelled or declined meanwhile",
            code="assignment.not_active",
        )
    session.execute(
        delete(WaitlistEntry).where(
            WaitlistEntry.event_id == event_id, WaitlistEntry.person_id == to.id
        )
    )
    record(
        session,
        actor,
        action="reassign",
        entity="assignment",
        entity_id=assignment_id,
        changes={"from_person_id": from_person_id, "to_person_id": to.id},
    )
    moved_to = reload(session, assignment_id)
    tell(session, moved_to, "assigned", f"swap:{from_person_id}:{to.id}")
    return moved_to


def release_all_for_person(session: Session, actor: Actor, person_id: int) -> None:
    """Before a person is deleted: give back every place they held (to the waitlists).

    Twice: a sign-up in flight during the first pass may commit a place after it, and that
    place would vanish with the person (a cascade) yet stay counted. The person row's lock
    taken between the passes (FOR UPDATE) waits for such sign-ups and holds off new ones,
    which then fail on the foreign key; the second pass gives back what came in between.
    The lock comes after the first pass, not before: a promotion of this person holds their
    slot and waitlist rows while it refers to them, and must be let through."""
    _release_places_of(session, actor, person_id)
    session.execute(select(Person.id).where(Person.id == person_id).with_for_update())
    _release_places_of(session, actor, person_id)


def _release_places_of(session: Session, actor: Actor, person_id: int) -> None:
    # Swap rows first, in the order taking a swap locks them (the swap, then the
    # assignment): their offers, and offers made to them, go with them.
    detach_swaps(session, select(Assignment.id).where(Assignment.person_id == person_id))
    session.execute(
        delete(SwapRequest).where(
            or_(
                SwapRequest.offered_by_person_id == person_id,
                SwapRequest.offered_to_person_id == person_id,
            )
        )
    )
    session.execute(
        update(SwapRequest)
        .where(SwapRequest.taken_by_person_id == person_id)
        .values(taken_by_person_id=None)
    )
    session.execute(delete(WaitlistEntry).where(WaitlistEntry.person_id == person_id))
    # What the DELETE removed, not what a read before it saw: a cancellation committed in
    # between has released its seat already.
    freed = session.execute(
        delete(Assignment)
        .where(Assignment.person_id == person_id)
        .returning(Assignment.slot_id, Assignment.status)
    ).all()
    with freeing_seats(session, actor) as seats:
        for slot_id, status in sorted(freed):  # sorted: the same lock order everywhere
            if status in ACTIVE:
                seats.free(slot_id)
