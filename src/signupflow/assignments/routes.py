from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Row

from signupflow.assignments import service, waitlist
from signupflow.assignments.models import WaitlistEntry
from signupflow.assignments.schemas import (
    AssignmentCreate,
    AssignmentRead,
    SignUp,
    WaitlistEntryRead,
)
from signupflow.deps import API_PREFIX, DbSession, Member, Pagination, Scheduler
from signupflow.errors import PermissionDenied
from signupflow.people.models import MemberRole
from signupflow.responses import json_page
from signupflow.schemas import Id, Instant, Page

router = APIRouter(prefix=API_PREFIX, tags=["assignments"])


# service.ASSIGNMENT_COLUMNS are these fields, in this order (then the total).
_FIELDS = tuple(AssignmentRead.model_fields)


def _page(items: Sequence[Row[*tuple[Any, ...]]], total: int, page: Pagination) -> Response:
    return json_page(
        [dict(zip(_FIELDS, row, strict=False)) for row in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/events/{event_id}/signups", response_model=AssignmentRead, status_code=status.HTTP_201_CREATED
)
def sign_up(session: DbSession, actor: Member, event_id: Id, data: SignUp) -> AssignmentRead:
    """Take an open place in a published event for a role you hold. 409 `slot-full` when
    every place is taken, `already-assigned` when you already serve at this event,
    `event-started` once the event has started."""
    return AssignmentRead.model_validate(service.sign_up(session, actor, event_id, data.role))


@router.post(
    "/events/{event_id}/assignments",
    response_model=AssignmentRead,
    status_code=status.HTTP_201_CREATED,
)
def assign(
    session: DbSession, actor: Scheduler, event_id: Id, data: AssignmentCreate
) -> AssignmentRead:
    """Place a person in a role slot (status `pending` until they respond)."""
    assignment = service.assign(
        session, actor, event_id, data.person_id, data.role, override=data.override
    )
    return AssignmentRead.model_validate(assignment)


@router.get("/events/{event_id}/assignments", response_model=Page[AssignmentRead])
def list_event_assignments(
    session: DbSession, actor: Member, event_id: Id, page: Pagination
) -> Response:
    items, total = service.list_assignments(
        session,
        actor,
        event_id=event_id,
        person_id=None,
        starts_from=None,
        starts_before=None,
        limit=page.limit,
        offset=page.offset,
    )
    return _page(items, total, page)


@router.get("/assignments", response_model=Page[AssignmentRead])
def list_assignments(
    session: DbSession,
    actor: Member,
    page: Pagination,
    person_id: Id | None = None,
    starts_from: Annotated[Instant | None, Query(alias="from")] = None,
    starts_before: Annotated[Instant | None, Query(alias="to")] = None,
) -> Response:
    """Assignments across events, grouped by event. Volunteers may only ask for their own
    (`person_id` = their own id)."""
    if not actor.at_least(MemberRole.SCHEDULER) and person_id != actor.person_id:
        raise PermissionDenied(
            "volunteers can list only their own assignments", code="assignment.list_own_only"
        )
    items, total = service.list_assignments(
        session,
        actor,
        event_id=None,
        person_id=person_id,
        starts_from=starts_from,
        starts_before=starts_before,
        limit=page.limit,
        offset=page.offset,
    )
    return _page(items, total, page)


@router.delete("/assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel(session: DbSession, actor: Member, assignment_id: Id) -> None:
    """Cancel an assignment and free its place; the first eligible person on the slot's
    waitlist takes it at once. Deleting a declined assignment only removes it from history.
    Once the event has started only schedulers and admins may (409 `event-started`)."""
    service.cancel(session, actor, assignment_id)


@router.post("/assignments/{assignment_id}/accept", response_model=AssignmentRead)
def accept(session: DbSession, actor: Member, assignment_id: Id) -> AssignmentRead:
    """Confirm a pending assignment (yours, or anyone's for schedulers and admins). 409
    `assignment-not-pending` when it was already confirmed or declined, `event-started` for a
    volunteer once the event has started."""
    return AssignmentRead.model_validate(
        service.respond(session, actor, assignment_id, accept=True)
    )


@router.post("/assignments/{assignment_id}/decline", response_model=AssignmentRead)
def decline(session: DbSession, actor: Member, assignment_id: Id) -> AssignmentRead:
    """Decline a pending assignment. The row stays (status `declined`) and its place goes to
    the first eligible person on the slot's waitlist. A declined person may sign up, or be
    assigned, again later: the same row comes back to life. Once the event has started only
    schedulers and admins may (409 `event-started`)."""
    return AssignmentRead.model_validate(
        service.respond(session, actor, assignment_id, accept=False)
    )


def _entries(
    rows: Sequence[tuple[WaitlistEntry, int]], total: int, page: Pagination
) -> Page[WaitlistEntryRead]:
    return Page(
        items=[WaitlistEntryRead.of(entry, position) for entry, position in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/events/{event_id}/waitlist",
    response_model=WaitlistEntryRead,
    status_code=status.HTTP_201_CREATED,
)
def join_waitlist(
    session: DbSession, actor: Member, event_id: Id, data: SignUp
) -> WaitlistEntryRead:
    """Queue for a place in a full role slot. When a place frees up, the first eligible
    person in line is assigned (confirmed) automatically. 409 `slot-has-room` when the slot
    still has places (sign up instead), `already-waitlisted`, `already-assigned`,
    `event-started`."""
    entry, position = waitlist.join(session, actor, event_id, data.role)
    return WaitlistEntryRead.of(entry, position)


@router.get("/events/{event_id}/waitlist", response_model=Page[WaitlistEntryRead])
def list_event_waitlist(
    session: DbSession, actor: Member, event_id: Id, page: Pagination
) -> Page[WaitlistEntryRead]:
    """The event's waitlists in line order. Volunteers see only their own places in line."""
    rows, total = waitlist.list_entries(
        session,
        actor,
        event_id=event_id,
        only_mine=False,
        limit=page.limit,
        offset=page.offset,
    )
    return _entries(rows, total, page)


@router.get("/waitlist", response_model=Page[WaitlistEntryRead])
def list_my_waitlist(
    session: DbSession, actor: Member, page: Pagination
) -> Page[WaitlistEntryRead]:
    """Your places in line, across events, with your position in each."""
    rows, total = waitlist.list_entries(
        session, actor, event_id=None, only_mine=True, limit=page.limit, offset=page.offset
    )
    return _entries(rows, total, page)


@router.delete("/waitlist/{waitlist_entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def leave_waitlist(session: DbSession, actor: Member, waitlist_entry_id: Id) -> None:
    """Leave a waitlist (yours; schedulers may remove anyone's place). Once the event has
    started only schedulers and admins may (409 `event-started`)."""
    waitlist.leave(session, actor, waitlist_entry_id)
