"""Local-time facts about each slot, computed once per problem."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from signupflow.scheduling.solver.problem import Person, Slot


@dataclass(frozen=True)
class LocalSlot:
    slot: Slot
    start: datetime  # organisation's local time
    end: datetime
    days: tuple[date, ...]  # every local date the slot touches
    week: tuple[int, int]  # ISO year and week of the local start
    month: tuple[int, int]


def localise(slot: Slot, zone: ZoneInfo) -> LocalSlot:
    start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
    last = (end - timedelta(microseconds=1)).date()
    days = tuple(start.date() + timedelta(days=i) for i in range((last - start.date()).days + 1))
    iso = start.isocalendar()
    return LocalSlot(slot, start, end, days, (iso.year, iso.week), (start.year, start.month))


def within_windows(person: Person, local: LocalSlot) -> bool:
    if not person.windows:
        return True
    if local.end.date() != local.start.date() and local.end.time() != time(0):
        return False  # a window never spans midnight
    end_time = local.end.time() if local.end.date() == local.start.date() else time.max
    weekday = local.start.weekday()
    return any(
        w.weekday == weekday and w.start <= local.start.time() and end_time <= w.end
        for w in person.windows
    )


def on_time_off(person: Person, local: LocalSlot) -> bool:
    return any(r.first <= day <= r.last for r in person.time_off for day in local.days)
