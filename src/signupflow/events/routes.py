from __future__ import annotations

import enum
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response, status

from signupflow.deps import API_PREFIX, DbSession, Member, Pagination, Scheduler
from signupflow.events import service
from signupflow.events.models import EventStatus
from signupflow.events.schemas import (
    EventCreate,
    EventRead,
    EventUpdate,
    SeriesCreate,
    SeriesRead,
)
from signupflow.responses import json_page
from signupflow.schemas import Id, Instant, Page

router = APIRouter(prefix=f"{API_PREFIX}/events", tags=["events"])
series_router = APIRouter(prefix=f"{API_PREFIX}/event-series", tags=["events"])


class Scope(enum.StrEnum):
    THIS = "this"
    FOLLOWING = "following"


@series_router.post("", response_model=SeriesRead, status_code=status.HTTP_201_CREATED)
def create_series(session: DbSession, actor: Scheduler, data: SeriesCreate) -> SeriesRead:
    """Create a recurring event: one event per occurrence of `rrule`, starting with
    `starts_at`, each with the same slots. 422 for an unbounded, too long or invalid rule,
    a `starts_at` the rule skips (the problem names the first occurrence) or occurrences
    that overlap."""
    series, events = service.create_series(session, actor, data)
    return SeriesRead.of(series, events, actor.organisation.timezone)


@series_router.get("/{series_id}", response_model=SeriesRead)
def get_series(session: DbSession, actor: Member, series_id: Id) -> SeriesRead:
    """A recurring series: its rule and the occurrences that remain, in order (volunteers
    see the published and cancelled ones)."""
    series, events = service.get_series(session, actor, series_id)
    return SeriesRead.of(series, events, actor.organisation.timezone)


@router.get("", response_model=Page[EventRead])
def list_events(
    session: DbSession,
    actor: Member,
    page: Pagination,
    status: EventStatus | None = None,
    starts_from: Annotated[Instant | None, Query(alias="from")] = None,
    starts_before: Annotated[Instant | None, Query(alias="to")] = None,
    team_id: Id | None = None,
) -> Response:
    """Events in start order. Volunteers see published and cancelled events only."""
    items, total = service.list_events(
        session,
        actor,
        status=status,
        starts_from=starts_from,
        starts_before=starts_before,
        team_id=team_id,
        limit=page.limit,
        offset=page.offset,
    )
    zone = ZoneInfo(actor.organisation.timezone)
    return json_page(
        [EventRead.values(event, slots, zone) for event, slots in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=EventRead, status_code=status.HTTP_201_CREATED)
def create_event(session: DbSession, actor: Scheduler, data: EventCreate) -> EventRead:
    """Create an event with the roles it needs (`slots`). Times are ISO 8601 with offset."""
    event = service.create_event(session, actor, data)
    return EventRead.of(event, actor.organisation.timezone)


@router.get("/{event_id}", response_model=EventRead)
def get_event(session: DbSession, actor: Member, event_id: Id) -> EventRead:
    """One event, if the listing shows it to you (volunteers: published and cancelled)."""
    event = service.get_event(session, actor, event_id)
    return EventRead.of(event, actor.organisation.timezone)


@router.patch("/{event_id}", response_model=EventRead)
def update_event(
    session: DbSession,
    actor: Scheduler,
    event_id: Id,
    data: EventUpdate,
    scope: Scope = Scope.THIS,
) -> EventRead:
    """Change an event. `slots`, when given, replaces the role list; a slot cannot shrink
    below the people already signed up. Places a grown slot or a re-published event has open
    go to the slots' waitlists. `scope=following` makes the same change to the later
    occurrences of its recurring series, a new time as the same shift of local wall-clock
    time on each date; all or nothing (for an event outside a series it is `this`). New times
    follow the rules of a new event (the end after the start, at most 14 days) on every event
    they move."""
    event = service.update_event(session, actor, event_id, data, following=scope == Scope.FOLLOWING)
    return EventRead.of(event, actor.organisation.timezone)


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_event(
    session: DbSession, actor: Scheduler, event_id: Id, scope: Scope = Scope.THIS
) -> None:
    """Delete the event; `scope=following` also deletes the later occurrences of its
    recurring series (for an event outside a series it is the same as `this`)."""
    service.delete_event(session, actor, event_id, following=scope == Scope.FOLLOWING)
