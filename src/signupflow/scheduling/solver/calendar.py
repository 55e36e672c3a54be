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


# A window ending at 23:59 or later runs to midnight: the form's time field stops at 23:59.
END_OF_DAY = time(23, 59)


def within_windows(person: Person, local: LocalSlot) -> bool:
    """Whether the person's weekly windows cover the whole slot, day by day: a slot that ends
    at midnight needs a window to the end of its day, one that crosses midnight a window to
    midnight on the first day and one from midnight on the next."""
    if not person.windows:
        return True
    for day in local.days:
        begins = local.start.time() if day == local.start.date() else time(0)
        ends = local.end.time() if day == local.end.date() else time.max
        if not any(
            w.weekday == day.weekday()
            and w.start <= begins
            and ends <= (time.max if w.end >= END_OF_DAY else w.end)
            for w in person.windows
        ):
            return False
    return True


def on_time_off(person: Person, local: LocalSlot) -> bool:
    return any(r.first <= day <= r.last for r in person.time_off for day in local.days)
