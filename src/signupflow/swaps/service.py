"""Swap requests: a volunteer offers an assignment, a qualified colleague takes it, an admin
approves when the organisation asks for it, and the assignment moves in one transaction.
Every transition is a conditional UPDATE on the swap's state, so two takers (or a take and a
cancel) cannot both win."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVarTuple

from sqlalchemy import Select, and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from signupflow.actor import Actor
from signupflow.assignments.errors import AlreadyAssigned, AssignmentNotActive, EventClosed
from signupflow.assignments.ledger import ACTIVE, active_at_event, reassign
from signupflow.assignments.models import Assignment
from signupflow.assignments.service import load_person
from signupflow.assignments.started import refuse_after_start, refuse_volunteer_after_start
from signupflow.audit.service import record
from signupflow.availability.eligibility import require_there
from signupflow.db.pagination import paginate
from signupflow.errors import PermissionDenied, ResourceNotFound
from signupflow.events.models import Event, EventStatus
from signupflow.events.service import visible_events
from signupflow.organisations.service import lock_organisation
from signupflow.people.models import MemberRole, Person
from signupflow.swaps.errors import (
    NotQualified,
    OwnSwap,
    ScheduleClash,
    SwapAlreadyOffered,
    SwapClosed,
    SwapNotAwaitingApproval,
    SwapNotOpen,
    SwapReserved,
)
from signupflow.swaps.models import SwapRequest, SwapState
from signupflow.swaps.schemas import SwapOfferCreate
from signupflow.tenancy import get_scoped, scoped

PENDING_STATES = (SwapState.OPEN, SwapState.AWAITING_APPROVAL)
_Ts = TypeVarTuple("_Ts")


def _event(session: Session, actor: Actor, event_id: int) -> Event:
    return get_scoped(session, Event, event_id, actor.organisation_id)


def _ensure_upcoming(event: Event) -> None:
    if event.status != EventStatus.PUBLISHED:
        raise EventClosed(
            "swaps are only possible for published events that have not started",
            code="swap.event_closed",
        )
    refuse_after_start(event)


def _overlaps(session: Session, person_id: int, event: Event) -> bool:
    other = aliased(Event)
    return bool(
        session.scalar(
            select(
                exists()
                .where(
                    Assignment.person_id == person_id,
                    Assignment.status.in_(ACTIVE),
                    Assignment.event_id != event.id,
                    Assignment.event_id == other.id,
                )
                .where(other.starts_at < event.ends_at, other.ends_at > event.starts_at)
            )
        )
    )


def _check_taker(
    session: Session, actor: Actor, swap: SwapRequest, event: Event, taker: Person
) -> None:
    if taker.id == swap.offered_by_person_id:
        raise OwnSwap("this is your own offer; cancel it instead", code="swap.own_offer")
    if swap.offered_to_person_id is not None and swap.offered_to_person_id != taker.id:
        raise SwapReserved("this offer is reserved for a named colleague", code="swap.reserved")
    if not taker.active or swap.role not in taker.roles:
        raise NotQualified(
            f"{taker.name} does not hold the role '{swap.role}'",
            code="person.lacks_role",
            params={"name": taker.name, "role": swap.role},
        )
    require_there(session, actor, event, taker)
    if active_at_event(session, event.id, taker.id):
        raise AlreadyAssigned(taker.name)
    if _overlaps(session, taker.id, event):
        raise ScheduleClash(
            f"{taker.name} serves at another event at that time",
            code="swap.clash",
            params={"name": taker.name},
        )


def _transition(
    session: Session, swap: SwapRequest, from_states: tuple[SwapState, ...], **values: object
) -> bool:
    changed = session.execute(
        update(SwapRequest)
        .where(SwapRequest.id == swap.id, SwapRequest.state.in_(from_states))
        .values(**values)
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed)


def _reload(session: Session, swap_id: int) -> SwapRequest:
    swap = session.scalars(
        select(SwapRequest)
        .where(SwapRequest.id == swap_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if swap is None:  # deleted a moment ago, with its event or the colleague who offered it
        raise ResourceNotFound(SwapRequest, swap_id)
    return swap


def _audit(session: Session, actor: Actor, swap: SwapRequest, action: str) -> None:
    record(
        session,
        actor,
        action=action,
        entity="swap_request",
        entity_id=swap.id,
        changes={
            "assignment_id": swap.assignment_id,
            "offered_by_person_id": swap.offered_by_person_id,
            "taken_by_person_id": swap.taken_by_person_id,
            "state": swap.state.value,
        },
    )


def offer(session: Session, actor: Actor, assignment_id: int, data: SwapOfferCreate) -> SwapRequest:
    """Offer one of your assignments (schedulers may offer anyone's)."""
    lock_organisation(session, actor.organisation_id)  # one open offer per assignment
    assignment = get_scoped(session, Assignment, assignment_id, actor.organisation_id)
    if not actor.may_act_for(assignment.person_id):
        raise PermissionDenied(
            "you can only offer your own assignments", code="swap.offer_own_only"
        )
    if assignment.status not in ACTIVE:
        raise AssignmentNotActive(
            "a declined assignment cannot be offered", code="swap.declined_assignment"
        )
    _ensure_upcoming(_event(session, actor, assignment.event_id))
    if data.offered_to_person_id is not None:
        named = load_person(session, actor, data.offered_to_person_id)
        if named.id == assignment.person_id:
            raise OwnSwap("you cannot offer an assignment to yourself", code="swap.to_self")
    already = session.scalar(
        select(
            exists().where(
                SwapRequest.assignment_id == assignment.id, SwapRequest.state.in_(PENDING_STATES)
            )
        )
    )
    if already:
        raise SwapAlreadyOffered(
            "this assignment already has an open swap offer", code="swap.already_offered"
        )
    swap = SwapRequest(
        organisation_id=actor.organisation_id,
        assignment_id=assignment.id,
        event_id=assignment.event_id,
        role=assignment.role,
        offered_by_person_id=assignment.person_id,
        offered_to_person_id=data.offered_to_person_id,
        note=data.note,
        state=SwapState.OPEN,
    )
    session.add(swap)
    session.flush()
    _audit(session, actor, swap, "offer")
    return swap


def _complete(session: Session, actor: Actor, swap: SwapRequest, taker: Person) -> None:
    if swap.assignment_id is None:
        raise AssignmentNotActive(
            "the offered assignment was cancelled meanwhile", code="assignment.not_active"
        )
    reassign(session, actor, swap.assignment_id, swap.offered_by_person_id, taker)


def take(session: Session, actor: Actor, swap_id: int, person_id: int | None) -> SwapRequest:
    """Take an open offer yourself (schedulers may take it for a colleague). Without
    required approval the assignment moves now; otherwise it waits for an admin."""
    swap = get_scoped(session, SwapRequest, swap_id, actor.organisation_id)
    taker_id = person_id if person_id is not None else actor.person_id
    if taker_id is None:
        raise PermissionDenied(
            "your account has no volunteer profile in this organisation", code="account.no_person"
        )
    if not actor.may_act_for(taker_id):
        raise PermissionDenied(
            "you can only take an offer for yourself", code="swap.take_for_self_only"
        )
    taker = load_person(session, actor, taker_id)
    if swap.state != SwapState.OPEN:
        raise SwapNotOpen(
            f"this offer is {swap.state.value}",
            code="swap.not_open",
            params={"state": swap.state.value},
        )
    event = _event(session, actor, swap.event_id)
    _ensure_upcoming(event)
    _check_taker(session, actor, swap, event, taker)
    needs_approval = actor.organisation.swaps_need_approval
    new_state = SwapState.AWAITING_APPROVAL if needs_approval else SwapState.COMPLETED
    # First write: of several takers, exactly one moves the offer out of `open`.
    if not _transition(
        session, swap, (SwapState.OPEN,), state=new_state, taken_by_person_id=taker.id
    ):
        raise SwapNotOpen(
            "someone else took or cancelled this offer a moment ago", code="swap.not_open"
        )
    swap = _reload(session, swap.id)
    if not needs_approval:
        _complete(session, actor, swap, taker)
    _audit(session, actor, swap, "take")
    return swap


def decide(session: Session, actor: Actor, swap_id: int, *, approve: bool) -> SwapRequest:
    """An admin approves (the assignment moves) or rejects a taken offer."""
    swap = get_scoped(session, SwapRequest, swap_id, actor.organisation_id)
    if swap.state != SwapState.AWAITING_APPROVAL:
        raise SwapNotAwaitingApproval(
            f"this offer is {swap.state.value}",
            code="swap.not_awaiting_approval",
            params={"state": swap.state.value},
        )
    new_state = SwapState.COMPLETED if approve else SwapState.REJECTED
    if not _transition(
        session,
        swap,
        (SwapState.AWAITING_APPROVAL,),
        state=new_state,
        decided_by_user_id=actor.user_id,
    ):
        raise SwapNotAwaitingApproval(
            "this offer was decided or cancelled a moment ago", code="swap.not_awaiting_approval"
        )
    swap = _reload(session, swap.id)
    if approve:
        if swap.taken_by_person_id is None:  # the taker's profile was deleted meanwhile
            raise NotQualified(
                "the colleague who took this offer no longer exists", code="swap.taker_gone"
            )
        taker = load_person(session, actor, swap.taken_by_person_id)
        event = _event(session, actor, swap.event_id)
        _ensure_upcoming(event)
        # Things may have changed while the offer waited; the same rules apply now.
        _check_taker(session, actor, swap, event, taker)
        _complete(session, actor, swap, taker)
    _audit(session, actor, swap, "approve" if approve else "reject")
    return swap


def cancel(session: Session, actor: Actor, swap_id: int) -> SwapRequest:
    """The offerer (or a scheduler) withdraws an offer that has not completed."""
    swap = get_scoped(session, SwapRequest, swap_id, actor.organisation_id)
    if not actor.may_act_for(swap.offered_by_person_id):
        raise PermissionDenied("you can only cancel your own offers", code="swap.cancel_own_only")
    refuse_volunteer_after_start(session, actor, swap.event_id)
    if swap.state not in PENDING_STATES or not _transition(
        session, swap, PENDING_STATES, state=SwapState.CANCELLED
    ):
        raise SwapClosed(
            f"this offer is already {_reload(session, swap.id).state.value}", code="swap.closed"
        )
    swap = _reload(session, swap.id)
    _audit(session, actor, swap, "cancel")
    return swap


def visible_swaps(stmt: Select[*_Ts], actor: Actor) -> Select[*_Ts]:
    """The offers the caller may see, in the listing and one by one: schedulers every offer;
    volunteers the ones they made or took, and open offers of visible events they could be
    given (not those reserved for a named colleague). A closed offer of someone else, and
    its note, stays private. Compose with `tenancy.scoped`."""
    if actor.at_least(MemberRole.SCHEDULER):
        return stmt
    me = actor.person_id
    return stmt.where(
        or_(
            SwapRequest.offered_by_person_id == me,
            SwapRequest.taken_by_person_id == me,
            and_(
                SwapRequest.state == SwapState.OPEN,
                or_(
                    SwapRequest.offered_to_person_id.is_(None),
                    SwapRequest.offered_to_person_id == me,
                ),
                SwapRequest.event_id.in_(
                    visible_events(scoped(select(Event.id), Event, actor.organisation_id), actor)
                ),
            ),
        )
    )


def get_swap(session: Session, actor: Actor, swap_id: int) -> SwapRequest:
    return get_scoped(
        session,
        SwapRequest,
        swap_id,
        actor.organisation_id,
        visible=lambda stmt: visible_swaps(stmt, actor),
    )


def list_swaps(
    session: Session,
    actor: Actor,
    *,
    state: SwapState | None,
    takeable: bool,
    limit: int,
    offset: int,
) -> tuple[list[SwapRequest], int]:
    """The offers the caller may see (`visible_swaps`); `takeable` keeps only open offers
    the caller could take right now."""
    stmt = visible_swaps(scoped(select(SwapRequest), SwapRequest, actor.organisation_id), actor)
    if state is not None:
        stmt = stmt.where(SwapRequest.state == state)
    me = actor.person_id
    if takeable:
        if me is None:
            return [], 0
        person = load_person(session, actor, me)
        target, other = aliased(Event), aliased(Event)
        clash = (
            select(Assignment.id)
            .join(other, other.id == Assignment.event_id)
            .where(
                Assignment.person_id == me,
                Assignment.status.in_(ACTIVE),
                or_(
                    Assignment.event_id == target.id,
                    and_(other.starts_at < target.ends_at, other.ends_at > target.starts_at),
                ),
            )
        )
        stmt = (
            stmt.join(target, target.id == SwapRequest.event_id)
            .where(
                SwapRequest.state == SwapState.OPEN,
                SwapRequest.offered_by_person_id != me,
                or_(
                    SwapRequest.offered_to_person_id.is_(None),
                    SwapRequest.offered_to_person_id == me,
                ),
                SwapRequest.role.in_(person.roles if person.active else []),
                target.status == EventStatus.PUBLISHED,
                target.starts_at > datetime.now(UTC),
            )
            .where(~exists(clash))
        )
    ordered = stmt.order_by(SwapRequest.id.desc())
    return paginate(session, ordered, limit=limit, offset=offset)
