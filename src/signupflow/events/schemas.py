from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, StringConstraints, model_validator

from signupflow import one_line
from signupflow.events.models import Event, EventSeries, EventSlot, EventStatus
from signupflow.schemas import (
    ONE_LINE,
    ApiModel,
    Instant,
    JsonId,
    LongText,
    Name,
    ResponseModel,
    RoleName,
    ShortText,
    invalid,
)


class SlotSpec(ApiModel):
    role: RoleName
    capacity: int = Field(ge=1, le=1000, strict=True)


def _unique_roles(slots: list[SlotSpec] | None) -> None:
    if slots is not None and len({slot.role for slot in slots}) != len(slots):
        raise invalid("slots", "event.duplicate_role", "each role may appear only once in slots")


class EventCreate(ApiModel):
    title: Name
    description: LongText = ""
    location: ShortText = ""
    starts_at: Instant
    ends_at: Instant
    team_id: JsonId | None = None
    status: EventStatus = EventStatus.DRAFT
    slots: list[SlotSpec] = Field(default_factory=list, max_length=50)

    # Times are checked by the service (events/rules.py), on the event as it will be stored,
    # the same way for a change and for each occurrence of a series.
    @model_validator(mode="after")
    def _check(self) -> EventCreate:
        _unique_roles(self.slots)
        return self


class SeriesCreate(EventCreate):
    """An event plus the RFC 5545 rule it repeats by; starts_at/ends_at are the first
    occurrence (the rule's first: a start the rule skips is refused)."""

    rrule: Annotated[
        str, StringConstraints(min_length=1, max_length=500, pattern=one_line.PATTERN), ONE_LINE
    ] = Field(
        description="One RRULE line, e.g. FREQ=WEEKLY;BYDAY=SU;COUNT=10. COUNT or UNTIL is "
        "required (at most 366 occurrences within 10 years); read in the organisation's time "
        "zone, so local times hold across daylight saving changes. starts_at must be the "
        "rule's first occurrence; INTERVAL is at least 1; BYHOUR, BYMINUTE and BYSECOND take "
        "one value (at most one occurrence a day); occurrences may not overlap.",
    )


class EventUpdate(ApiModel):
    title: Name | None = None
    description: LongText | None = None
    location: ShortText | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    team_id: JsonId | None = None
    status: EventStatus | None = None
    slots: list[SlotSpec] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> EventUpdate:
        _unique_roles(self.slots)
        return self


class SlotRead(ResponseModel):
    id: int
    role: str
    capacity: int
    filled: int
    open: int


class EventRead(ResponseModel):
    id: int
    title: str
    description: str
    location: str
    status: EventStatus
    team_id: int | None
    series_id: int | None = Field(description="The recurring series this event belongs to")
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime = Field(description="UTC")
    timezone: str = Field(description="The organisation's time zone")
    starts_at_local: datetime = Field(description="In the organisation's time zone")
    ends_at_local: datetime = Field(description="In the organisation's time zone")
    slots: list[SlotRead]
    created_at: datetime

    @classmethod
    def of(cls, event: Event, timezone: str) -> EventRead:
        row = tuple(getattr(event, column.key) for column in EVENT_FIELDS)
        slots = [tuple(getattr(slot, column.key) for column in SLOT_FIELDS) for slot in event.slots]
        return cls.model_validate(cls.values(row, slots, ZoneInfo(timezone)))

    @staticmethod
    def values(
        row: Sequence[Any], slots: Sequence[Sequence[Any]], zone: ZoneInfo
    ) -> dict[str, Any]:
        """An event's fields as plain values, in order, from its EVENT_FIELDS and its slots'
        SLOT_FIELDS (a listing's rows, which may carry more columns after those: unpacked, not
        read by name, which made this a quarter of a 50-event list's samples)."""
        id_, title, description, location, status, team_id, series_id, starts, ends, created = row[
            :10
        ]
        return {
            "id": id_,
            "title": title,
            "description": description,
            "location": location,
            "status": status,
            "team_id": team_id,
            "series_id": series_id,
            "starts_at": starts.astimezone(UTC),
            "ends_at": ends.astimezone(UTC),
            "timezone": zone.key,
            "starts_at_local": starts.astimezone(zone),
            "ends_at_local": ends.astimezone(zone),
            "slots": [
                {
                    "id": slot_id,
                    "role": role,
                    "capacity": capacity,
                    "filled": filled,
                    "open": capacity - filled,
                }
                for slot_id, role, capacity, filled, *_ in slots
            ],
            "created_at": created,
        }


# What EventRead.values reads, in its order: the listing selects these columns.
EVENT_FIELDS = (
    Event.id,
    Event.title,
    Event.description,
    Event.location,
    Event.status,
    Event.team_id,
    Event.series_id,
    Event.starts_at,
    Event.ends_at,
    Event.created_at,
)
SLOT_FIELDS = (EventSlot.id, EventSlot.role, EventSlot.capacity, EventSlot.filled)


class SeriesRead(ResponseModel):
    id: int
    rrule: str
    timezone: str
    occurrences: list[EventRead]

    @classmethod
    def of(cls, series: EventSeries, events: list[Event], timezone: str) -> SeriesRead:
        return cls(
            id=series.id,
            rrule=series.rrule,
            timezone=series.timezone,
            occurrences=[EventRead.of(e, timezone) for e in events],
        )
