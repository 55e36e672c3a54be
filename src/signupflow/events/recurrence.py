"""RFC 5545 recurrence rules, expanded in the organisation's time zone: a weekly 10:00 event
stays at 10:00 local time when daylight saving time starts or ends."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from signupflow.errors import InvalidInput

MAX_OCCURRENCES = 366
# Also bounds the work for rules that match rarely or never (FEBRUARY 30th).
HORIZON = timedelta(days=366 * 10)
# Sub-daily frequencies make no sense for events and make rule expansion expensive.
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# The time of day is starts_at's. A list in one of these would bring sub-daily repetition
# back through the side door (FREQ=DAILY;BYMINUTE=0,1,2: three events a minute apart).
TIME_OF_DAY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")


def _until(value: str, zone: ZoneInfo) -> datetime:
    match = _UNTIL.match(value)
    if match is None:
        raise InvalidInput(
            "UNTIL must look like 20301231, 20301231T235959 or 20301231T235959Z",
            code="recurrence.until_invalid",
        )
    day, clock, utc = match.groups()
    try:
        moment = datetime.strptime(day + (clock or "235959"), "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise InvalidInput(
            f"UNTIL is not a valid date: {value}", code="recurrence.until_invalid"
        ) from exc
    return moment.replace(tzinfo=ZoneInfo("UTC") if utc else zone)


def expand(rule: str, first_start: datetime, timezone: str) -> list[datetime]:
    """Start times (aware, in `timezone`) of every occurrence. The rule needs COUNT or UNTIL
    and at most MAX_OCCURRENCES occurrences within HORIZON of the first start."""
    zone = ZoneInfo(timezone)
    text = rule.strip().removeprefix("RRULE:")
    if not text or any(c in text for c in "\r\n") or "DTSTART" in text.upper():
        raise InvalidInput(
            "give one RRULE line without DTSTART (starts_at is the start)",
            code="recurrence.one_line",
        )
    parts: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if not sep or not value or key.upper() in parts:
            raise InvalidInput(
                f"malformed RRULE part: {part!r}",
                code="recurrence.malformed",
                params={"part": part},
            )
        parts[key.upper()] = value
    if parts.get("FREQ", "").upper() not in FREQUENCIES:
        raise InvalidInput(
            f"FREQ must be one of {', '.join(FREQUENCIES)}",
            code="recurrence.frequency",
            params={"choices": ", ".join(FREQUENCIES)},
        )
    interval = parts.get("INTERVAL")
    if interval is not None and not (interval.isdigit() and int(interval) >= 1):
        # INTERVAL=0 repeats the first occurrence in place.
        raise InvalidInput(
            "INTERVAL must be a whole number of at least 1", code="recurrence.interval"
        )
    for key in TIME_OF_DAY_PARTS:
        if "," in parts.get(key, ""):
            raise InvalidInput(
                f"{key} takes one value: an event repeats at most once a day",
                code="recurrence.time_of_day",
                params={"part": key},
            )
    count_text, until_text = parts.pop("COUNT", None), parts.pop("UNTIL", None)
    if (count_text is None) == (until_text is None):
        raise InvalidInput(
            "the rule needs exactly one of COUNT or UNTIL (unbounded otherwise)",
            code="recurrence.count_or_until",
        )
    count = MAX_OCCURRENCES
    if count_text is not None:
        if not count_text.isdigit() or not 1 <= int(count_text) <= MAX_OCCURRENCES:
            raise InvalidInput(
                f"COUNT must be between 1 and {MAX_OCCURRENCES}",
                code="recurrence.count_range",
                params={"max": MAX_OCCURRENCES},
            )
        count = int(count_text)
    start = first_start.astimezone(zone).replace(tzinfo=zone)
    horizon = start + HORIZON
    until = _until(until_text, zone) if until_text is not None else horizon
    if until > horizon:
        raise InvalidInput(
            f"the rule must end within {HORIZON.days // 366} years",
            code="recurrence.too_long",
            params={"years": HORIZON.days // 366},
        )
    try:
        parsed = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=start)
        bounded = parsed.replace(until=until)  # type: ignore[union-attr]
        starts: list[datetime] = []
        for occurrence in bounded:
            if len(starts) == count and count_text is not None:
                break
            starts.append(occurrence)
            if len(starts) > count:
                break
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput(f"invalid RRULE: {exc}", code="recurrence.invalid") from exc
    if count_text is not None and len(starts) < count:
        raise InvalidInput(
            f"COUNT={count} does not fit within {HORIZON.days // 366} years",
            code="recurrence.count_too_long",
            params={"count": count, "years": HORIZON.days // 366},
        )
    if len(starts) > count:
        raise InvalidInput(
            f"the rule makes more than {MAX_OCCURRENCES} occurrences",
            code="recurrence.too_many",
            params={"max": MAX_OCCURRENCES},
        )
    if not starts:
        raise InvalidInput("the rule makes no occurrences", code="recurrence.empty")
    if starts[0] != start.replace(microsecond=0):  # dateutil drops microseconds
        # RFC 5545 counts DTSTART as the first occurrence even when the rule skips it;
        # dateutil leaves it out. Either reading surprises someone, and moving the start
        # quietly would change what the client sent: refuse, naming the date that works.
        first = starts[0].isoformat()
        raise InvalidInput(
            f"starts_at is not an occurrence of the rule; its first occurrence is {first}",
            code="recurrence.start_not_first",
            params={"first": first},
        )
    return starts


def occurrence_times(
    starts: list[datetime], first_start: datetime, first_end: datetime
) -> list[tuple[datetime, datetime]]:
    """(start, end) of each occurrence, each as long as the first in local wall-clock time.
    Refuses occurrences that overlap: one person could not serve both."""
    times = [(start, shifted_end(start, first_start, first_end)) for start in starts]
    for (_, end), (next_start, _) in itertools.pairwise(times):
        if next_start < end:
            raise InvalidInput(
                f"occurrences overlap: one starts at {next_start.isoformat()} before the "
                "previous one ends",
                code="recurrence.overlap",
                params={"starts_at": next_start.isoformat()},
            )
    return times


def wall_clock(instant: datetime, zone: tzinfo | None) -> datetime:
    """The local wall-clock time of an instant, without a zone (for wall-clock arithmetic)."""
    return instant.astimezone(zone).replace(tzinfo=None)


def shifted_end(start: datetime, first_start: datetime, first_end: datetime) -> datetime:
    """An occurrence's end: the first occurrence's duration in local wall-clock time."""
    zone = start.tzinfo
    duration = wall_clock(first_end, zone) - wall_clock(first_start, zone)
    return (wall_clock(start, zone) + duration).replace(tzinfo=zone)
