"""Events and the role slots they need."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from signupflow.actor import Actor
from signupflow.assignments.ledger import fill_open_places, lock_slots
from signupflow.audit.service import record
from signupflow.db.base import as_text
from signupflow.db.id_lists import among_ids
from signupflow.db.pagination import given_filters, paginate_rows, read_rows
from signupflow.errors import Conflict, ResourceNotFound
from signupflow.events.models import (
    PUBLIC_STATUSES,
    Event,
    EventSeries,
    EventSlot,
    EventStatus,
)
from signupflow.events.recurrence import expand, occurrence_times, shifted_end, wall_clock
from signupflow.events.rules import check_times
from signupflow.events.schemas import (
    EVENT_FIELDS,
    SLOT_FIELDS,
    EventCreate,
    EventUpdate,
    SeriesCreate,
    SlotSpec,
)
from signupflow.people.models import MemberRole
from signupflow.teams.models import Team
from signupflow.tenancy import ORGANISATION, get_scoped, scoped

WITH_SLOTS = (selectinload(Event.slots),)
_Ts = TypeVarTuple("_Ts")


def visible_events(stmt: Select[*_Ts], actor: Actor) -> Select[*_Ts]:
    """The events the caller may see, for every route that reads them (one event, a listing,
    a series, the assignments or waitlist of an event): schedulers all, volunteers
    `PUBLIC_STATUSES`. Compose with `tenancy.scoped`."""
    return visible_events_of(stmt, every_event=actor.at_least(MemberRole.SCHEDULER))


def visible_events_of(stmt: Select[*_Ts], *, every_event: bool) -> Select[*_Ts]:
    """`visible_events` for statements built once for both kinds of caller."""
    return stmt if every_event else stmt.where(Event.status.in_(PUBLIC_STATUSES))


def get_event(session: Session, actor: Actor, event_id: int, *, for_change: bool = False) -> Event:
    return get_scoped(
        session,
        Event,
        event_id,
        actor.organisation_id,
        options=WITH_SLOTS,
        visible=lambda stmt: visible_events(stmt, actor),
        for_change=for_change,
    )


def ensure_visible(session: Session, actor: Actor, event_id: int) -> None:
    """ResourceNotFound unless the caller may see the event (reads of what hangs off it)."""
    stmt = _visible_event_id(every_event=actor.at_least(MemberRole.SCHEDULER))
    if (
        session.scalar(stmt, {"organisation_id": actor.organisation_id, "event_id": event_id})
        is None
    ):
        raise ResourceNotFound(Event, event_id)


@functools.cache
def _visible_event_id(*, every_event: bool) -> Select[int]:
    stmt = scoped(select(Event.id).where(Event.id == bindparam("event_id")), Event, ORGANISATION)
    return visible_events_of(stmt, every_event=every_event)


EventRows = list[tuple[Row[*tuple[Any, ...]], list[Row[*tuple[Any, ...]]]]]


def list_events(
    session: Session,
    actor: Actor,
    *,
    status: EventStatus | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    team_id: int | None,
    limit: int,
    offset: int,
) -> tuple[EventRows, int]:
    """A page of events, each with its slots by role, and the number of events in all pages.
    Two statements whatever the page's size."""
    filters, params = given_filters(
        actor.organisation_id,
        status=status,
        starts_from=starts_from,
        starts_before=starts_before,
        team_id=team_id,
    )
    stmt = _events_page(every_event=actor.at_least(MemberRole.SCHEDULER), filters=filters)
    events, total = paginate_rows(session, stmt, limit=limit, offset=offset, params=params)
    slots: dict[int, list[Row[*tuple[Any, ...]]]] = {event[0]: [] for event in events}
    if slots:
        for slot in read_rows(
            session,
            _slots_of_events(),
            {"organisation_id": actor.organisation_id, "event_ids": list(slots)},
        ):
            slots[slot[-1]].append(slot)
    return [(event, slots[event[0]]) for event in events], total


@functools.cache
def _events_page(*, every_event: bool, filters: frozenset[str]) -> Select[*tuple[Any, ...]]:
    # Rows written straight to JSON: the status as its stored text.
    columns = [as_text(c) if c is Event.status else c for c in EVENT_FIELDS]
    stmt = visible_events_of(scoped(select(*columns), Event, ORGANISATION), every_event=every_event)
    if "status" in filters:
        stmt = stmt.where(Event.status == bindparam("status"))
    if "starts_from" in filters:
        stmt = stmt.where(Event.starts_at >= bindparam("starts_from"))
    if "starts_before" in filters:
        stmt = stmt.where(Event.starts_at < bindparam("starts_before"))
    if "team_id" in filters:
        stmt = stmt.where(Event.team_id == bindparam("team_id"))
    return stmt.order_by(Event.starts_at, Event.id)


@functools.cache
def _slots_of_events() -> Select[*tuple[Any, ...]]:
    return scoped(
        select(*SLOT_FIELDS, EventSlot.event_id).where(among_ids(EventSlot.event_id, "event_ids")),
        EventSlot,
        ORGANISATION,
    ).order_by(EventSlot.event_id, EventSlot.role)


def _check_team(session: Session, actor: Actor, team_id: int | None) -> None:
    if team_id is not None:
        get_scoped(session, Team, team_id, actor.organisation_id)


def _new_event(
    actor: Actor,
    data: EventCreate | SeriesCreate,
    *,
    starts_at: datetime,
    ends_at: datetime,
    series_id: int | None = None,
) -> Event:
    """An event (one occurrence, for a series) with its role slots, not yet stored."""
    return Event(
        organisation_id=actor.organisation_id,
        series_id=series_id,
        title=data.title,
        description=data.description,
        location=data.location,
        starts_at=starts_at,
        ends_at=ends_at,
        team_id=data.team_id,
        status=data.status,
        slots=[
            EventSlot(organisation_id=actor.organisation_id, role=s.role, capacity=s.capacity)
            for s in data.slots
        ],
    )


def create_event(session: Session, actor: Actor, data: EventCreate) -> Event:
    check_times(data.starts_at, data.ends_at)
    _check_team(session, actor, data.team_id)
    event = _new_event(actor, data, starts_at=data.starts_at, ends_at=data.ends_at)
    session.add(event)
    session.flush()
    record(
        session,
        actor,
        action="create",
        entity="event",
        entity_id=event.id,
        changes=data.model_dump(mode="json"),
    )
    return event


def _replace_slots(event: Event, specs: list[SlotSpec]) -> None:
    """Keep slots whose role stays (their sign-ups stay too); refuse to shrink below sign-ups."""
    wanted = {spec.role: spec.capacity for spec in specs}
    for slot in list(event.slots):
        if slot.role not in wanted:
            if slot.filled:
                raise Conflict(
                    f"role '{slot.role}' has {slot.filled} sign-ups; cancel them first",
                    code="slot.has_signups",
                    params={"role": slot.role, "filled": slot.filled},
                )
            event.slots.remove(slot)
        elif wanted[slot.role] < slot.filled:
            raise Conflict(
                f"role '{slot.role}' already has {slot.filled} sign-ups; capacity cannot go lower",
                code="slot.capacity_below_signups",
                params={"role": slot.role, "filled": slot.filled},
            )
        else:
            slot.capacity = wanted.pop(slot.role)
    for role, capacity in wanted.items():
        event.slots.append(
            EventSlot(organisation_id=event.organisation_id, role=role, capacity=capacity)
        )


def _lock_slots(session: Session, events: list[Event]) -> None:
    """Sign-ups change `filled` under the slot row's lock: take the same locks and read the
    counters again, so a new capacity is compared with the sign-ups that will stay."""
    slot_ids = [slot.id for event in events for slot in event.slots]
    lock_slots(session, slot_ids)
    session.scalars(
        select(EventSlot)
        .where(EventSlot.id.in_(slot_ids))
        .execution_options(populate_existing=True)
    ).all()


def update_event(
    session: Session,
    actor: Actor,
    event_id: int,
    data: EventUpdate,
    *,
    following: bool = False,
) -> Event:
    """Change the event, or with `following` also the later occurrences of its series: each
    gets the same fields and slots, and a new time moves each by the same wall-clock shift in
    the organisation's zone (10:00 to 11:00 on every date, across daylight-saving changes).
    All or nothing: one occurrence that cannot take the change refuses the whole request."""
    event = get_event(session, actor, event_id, for_change=True)
    targets = _this_and_following(session, actor, event) if following else [event]
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, mode="json")
    if "team_id" in changes:
        _check_team(session, actor, data.team_id)
    new_start = data.starts_at or event.starts_at
    new_end = data.ends_at or event.ends_at
    zone = ZoneInfo(actor.organisation.timezone)
    shift = wall_clock(new_start, zone) - wall_clock(event.starts_at, zone)
    if data.slots is not None:
        _lock_slots(session, targets)
    for target in targets:
        if "team_id" in changes:
            target.team_id = data.team_id
        for field in ("title", "description", "location", "status"):
            value = getattr(data, field)
            if value is not None:
                setattr(target, field, value)
        if data.starts_at is not None or data.ends_at is not None:
            if target is event:
                target.starts_at, target.ends_at = new_start, new_end
            else:
                starts = (wall_clock(target.starts_at, zone) + shift).replace(tzinfo=zone)
                target.starts_at, target.ends_at = starts, shifted_end(starts, new_start, new_end)
            # As for a new event, on the times each one gets (one start or end alone keeps the
            # other). Times left alone are not judged again: a title or a cancellation never
            # fails on an event stored before a rule.
            check_times(target.starts_at, target.ends_at)
        if data.slots is not None:
            _replace_slots(target, data.slots)
    session.flush()
    if data.slots is not None or data.status == EventStatus.PUBLISHED:
        # Places added, or freed while the event was not open, go to the waitlists.
        for slot in sorted((s for t in targets for s in t.slots), key=lambda s: s.id):
            fill_open_places(session, actor, slot.id)
    if following:
        changes["event_ids"] = [t.id for t in targets]
    record(
        session,
        actor,
        action="update",
        entity="event",
        entity_id=event.id,
        changes=changes,
    )
    return event


def create_series(
    session: Session, actor: Actor, data: SeriesCreate
) -> tuple[EventSeries, list[Event]]:
    """A recurring event: one ordinary event per occurrence of the rule, each with the same
    role slots, all linked to the series."""
    check_times(data.starts_at, data.ends_at)
    _check_team(session, actor, data.team_id)
    timezone = actor.organisation.timezone
    times = occurrence_times(
        expand(data.rrule, data.starts_at, timezone), data.starts_at, data.ends_at
    )
    for starts_at, ends_at in times:
        check_times(starts_at, ends_at)
    series = EventSeries(organisation_id=actor.organisation_id, rrule=data.rrule, timezone=timezone)
    session.add(series)
    session.flush()
    events = [
        _new_event(actor, data, starts_at=starts_at, ends_at=ends_at, series_id=series.id)
        for starts_at, ends_at in times
    ]
    session.add_all(events)
    session.flush()
    record(
        session,
        actor,
        action="create",
        entity="event_series",
        entity_id=series.id,
        changes={**data.model_dump(mode="json"), "occurrences": len(events)},
    )
    return series, events


def get_series(session: Session, actor: Actor, series_id: int) -> tuple[EventSeries, list[Event]]:
    """A series with the occurrences the caller may see (deleted ones are gone)."""
    series = get_scoped(session, EventSeries, series_id, actor.organisation_id)
    # Joined, not selectin-loaded: one statement whose text does not grow with the series.
    events = (
        session.scalars(
            visible_events(scoped(select(Event), Event, actor.organisation_id), actor)
            .where(Event.series_id == series.id)
            .options(joinedload(Event.slots))
            .order_by(Event.starts_at, Event.id)
        )
        .unique()
        .all()
    )
    return series, list(events)


def _this_and_following(session: Session, actor: Actor, event: Event) -> list[Event]:
    if event.series_id is None:
        return [event]
    stmt = scoped(select(Event), Event, actor.organisation_id).where(
        Event.series_id == event.series_id, Event.starts_at >= event.starts_at
    )
    return list(session.scalars(stmt.options(*WITH_SLOTS).order_by(Event.starts_at)).all())


def delete_event(session: Session, actor: Actor, event_id: int, *, following: bool = False) -> None:
    """Delete the event, or with `following` also the later occurrences of its series."""
    event = get_event(session, actor, event_id, for_change=True)
    targets = _this_and_following(session, actor, event) if following else [event]
    for target in targets:
        session.delete(target)
    record(
        session,
        actor,
        action="delete",
        entity="event",
        entity_id=event_id,
        changes={"title": event.title, "deleted_ids": [t.id for t in targets]},
    )
    session.flush()
