"""What every event satisfies however it is made: created, changed, or one occurrence of a
series, when the series is created or changed with the following occurrences."""

from __future__ import annotations

from datetime import datetime, timedelta

from signupflow.errors import InvalidInput
from signupflow.schemas import EARLIEST_DAY, LATEST_DAY, in_calendar

MAX_EVENT_HOURS = 24 * 14


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    """Refuse an event that ends before it starts, lasts longer than MAX_EVENT_HOURS or
    leaves the calendar the API accepts (a series' occurrences are computed, so they can)."""
    if not (in_calendar(starts_at) and in_calendar(ends_at)):
        raise InvalidInput(
            f"events must be between {EARLIEST_DAY} and {LATEST_DAY}",
            code="event.outside_calendar",
            params={"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()},
            field="starts_at" if not in_calendar(starts_at) else "ends_at",
        )
    if ends_at <= starts_at:
        raise InvalidInput(
            "ends_at must be after starts_at", code="event.ends_before_start", field="ends_at"
        )
    if ends_at - starts_at > timedelta(hours=MAX_EVENT_HOURS):
        raise InvalidInput(
            f"an event lasts at most {MAX_EVENT_HOURS} hours",
            code="event.too_long",
            params={"hours": MAX_EVENT_HOURS},
            field="ends_at",
        )
