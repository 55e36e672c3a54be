from __future__ import annotations

from fastapi import APIRouter, status

from signupflow.deps import API_PREFIX, Admin, DbSession, Member, Pagination
from signupflow.schemas import Id, Page
from signupflow.swaps import service
from signupflow.swaps.models import SwapState
from signupflow.swaps.schemas import SwapOfferCreate, SwapRead, SwapTake

router = APIRouter(prefix=API_PREFIX, tags=["swaps"])


@router.post(
    "/assignments/{assignment_id}/swap-offers",
    response_model=SwapRead,
    status_code=status.HTTP_201_CREATED,
)
def offer_swap(
    session: DbSession, actor: Member, assignment_id: Id, data: SwapOfferCreate
) -> SwapRead:
    """Offer your assignment to colleagues, or only to `offered_to_person_id`. 409
    `swap-already-offered` when an offer is already open, `assignment-not-active` for a
    declined assignment, `event-closed` unless the event is published, `event-started` once
    it has started."""
    return SwapRead.model_validate(service.offer(session, actor, assignment_id, data))


@router.get("/swaps", response_model=Page[SwapRead])
def list_swaps(
    session: DbSession,
    actor: Member,
    page: Pagination,
    state: SwapState | None = None,
    takeable: bool = False,
) -> Page[SwapRead]:
    """Swap offers, newest first. Volunteers see the offers they made or took and open
    offers of events they can see, unless reserved for someone else; schedulers see all.
    `takeable=true`: open offers you could take now (you hold the role, are free at that time
    and not already serving at that event)."""
    items, total = service.list_swaps(
        session,
        actor,
        state=state,
        takeable=takeable,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[SwapRead.model_validate(s) for s in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/swaps/{swap_id}", response_model=SwapRead)
def get_swap(session: DbSession, actor: Member, swap_id: Id) -> SwapRead:
    """One offer, if the listing shows it to you; 404 otherwise."""
    return SwapRead.model_validate(service.get_swap(session, actor, swap_id))


@router.post("/swaps/{swap_id}/take", response_model=SwapRead)
def take_swap(session: DbSession, actor: Member, swap_id: Id, data: SwapTake) -> SwapRead:
    """Take an open offer (schedulers may name the colleague in `person_id`). The
    assignment moves now, or when an admin approves if the organisation requires it
    (`swaps_need_approval`). 409: `swap-not-open`, `swap-reserved`, `own-swap`,
    `not-qualified`, `schedule-clash`, `already-assigned`, `event-started`."""
    return SwapRead.model_validate(service.take(session, actor, swap_id, data.person_id))


@router.post("/swaps/{swap_id}/approve", response_model=SwapRead)
def approve_swap(session: DbSession, actor: Admin, swap_id: Id) -> SwapRead:
    """Approve a taken offer: the assignment moves to the colleague who took it. 409
    `swap-not-awaiting-approval` unless the offer is waiting for a decision."""
    return SwapRead.model_validate(service.decide(session, actor, swap_id, approve=True))


@router.post("/swaps/{swap_id}/reject", response_model=SwapRead)
def reject_swap(session: DbSession, actor: Admin, swap_id: Id) -> SwapRead:
    """Reject a taken offer: the assignment stays where it is."""
    return SwapRead.model_validate(service.decide(session, actor, swap_id, approve=False))


@router.post("/swaps/{swap_id}/cancel", response_model=SwapRead)
def cancel_swap(session: DbSession, actor: Member, swap_id: Id) -> SwapRead:
    """Withdraw your offer. 409 `swap-closed` once it completed, was rejected or cancelled;
    once the event has started only schedulers and admins may (409 `event-started`)."""
    return SwapRead.model_validate(service.cancel(session, actor, swap_id))
