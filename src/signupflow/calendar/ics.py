"""RFC 5545 documents: events in the organisation's time zone (DTSTART/DTEND with TZID and a
VTIMEZONE), a UID that never changes, SEQUENCE counting the event's edits and DTSTAMP its
last revision (no METHOD: a subscription is a calendar store, not a scheduling message).
The same data always gives the same bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar import Event as VEvent

from signupflow.events.models import Event, EventStatus

PRODID = "-//SignUpFlow//Volunteer schedule//EN"
# Feeds only carry published and cancelled events; a scheduler may download a draft.
STATUS = {
    EventStatus.PUBLISHED: "CONFIRMED",
    EventStatus.CANCELLED: "CANCELLED",
    EventStatus.DRAFT: "TENTATIVE",
}


@dataclass(frozen=True)
class Entry:
    event: Event
    sequence: int
    revised_at: datetime
    role: str | None = None  # a person's feed says which role they fill


def uid_domain(public_url: str) -> str:
    return urlsplit(public_url).hostname or "signupflow.invalid"


def build_calendar(name: str, timezone: str, entries: list[Entry], *, domain: str) -> bytes:
    zone = ZoneInfo(timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone)
    for entry in entries:
        event = entry.event
        component = VEvent()
        component.add("uid", f"event-{event.id}@{domain}")
        component.add("dtstamp", entry.revised_at)
        component.add("dtstart", event.starts_at.astimezone(zone))
        component.add("dtend", event.ends_at.astimezone(zone))
        summary = f"{event.title} ({entry.role})" if entry.role else event.title
        component.add("summary", summary)
        if event.location:
            component.add("location", event.location)
        if event.description:
            component.add("description", event.description)
        component.add("sequence", entry.sequence)
        component.add("status", STATUS[event.status])
        calendar.add_component(component)
    # A VTIMEZONE for every TZID used (none for UTC, which needs none).
    calendar.add_missing_timezones()
    document: bytes = calendar.to_ical()
    return document
