"""RFC 5545 documents: events in the organisation's time zone (DTSTART/DTEND with TZID and a
VTIMEZONE), a UID that never changes, SEQUENCE counting the event's edits and DTSTAMP its
last revision (no METHOD: a subscription is a calendar store, not a scheduling message).
The same data always gives the same bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard
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
    pending: bool = False  # a place they have not answered yet: TENTATIVE until they accept


def uid_domain(public_url: str) -> str:
    return urlsplit(public_url).hostname or "signupflow.invalid"


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """UTC instants in [start, end) where the zone's offset changes (day steps, then a
    binary search to the second)."""
    found = []
    day = start
    while day < end:
        following = day + timedelta(days=1)
        if _offset(zone, day) != _offset(zone, following):
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == _offset(zone, low):
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        day = following
    return found


def _observance(
    zone: ZoneInfo, at: datetime, before: timedelta
) -> TimezoneStandard | TimezoneDaylight:
    local = at.astimezone(zone)
    component = TimezoneDaylight() if local.dst() else TimezoneStandard()
    # DTSTART is the onset in the local time in force before it (RFC 5545 3.6.5).
    component.add("dtstart", (at + before).replace(tzinfo=None))
    component.add("tzoffsetfrom", before)
    component.add("tzoffsetto", local.utcoffset() or timedelta(0))
    component.add("tzname", local.tzname() or "")
    return component


def vtimezone(timezone: str, first: datetime, last: datetime) -> Timezone:
    """The zone's rules between two instants, one observance per actual change. Written out
    rather than as RDATE lists or RRULEs, which some readers (vobject, older Outlook) get
    wrong and which cannot express a rule that changes between years."""
    zone = ZoneInfo(timezone)
    start = (first - timedelta(days=2)).astimezone(UTC).replace(hour=0, minute=0, second=0)
    end = last + timedelta(days=2)
    component = Timezone()
    component.add("tzid", timezone)
    component.add_component(_observance(zone, start, _offset(zone, start)))
    for change in _transitions(zone, start, end):
        component.add_component(
            _observance(zone, change, _offset(zone, change - timedelta(seconds=1)))
        )
    return component


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
        unanswered = entry.pending and event.status == EventStatus.PUBLISHED
        component.add("status", "TENTATIVE" if unanswered else STATUS[event.status])
        calendar.add_component(component)
    if entries and timezone != "UTC":
        first = min(entry.event.starts_at for entry in entries)
        last = max(entry.event.ends_at for entry in entries)
        calendar.subcomponents.insert(0, vtimezone(timezone, first, last))
    document: bytes = calendar.to_ical()
    return document
