"""Shapes and constrained types shared by every domain's schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import resources
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from signupflow import one_line

SUPPORTED_LOCALES = ("en", "es", "fr", "pt", "zh-CN", "zh-TW")


def _iana_time_zones() -> frozenset[str]:
    # The IANA database's names as the tzdata package lists them, zones and their backward-
    # compatible links (Europe/Kiev, US/Eastern: organisations chose them, clocks agree), the
    # same on every host. zoneinfo.available_timezones() adds whatever files the host keeps
    # next to the zones (localtime, posixrules); Factory is the database's placeholder for
    # "no zone set yet", not a place.
    listed = resources.files("tzdata").joinpath("zones").read_text("utf-8").split()
    return frozenset(listed) - {"Factory"}


_TIMEZONES = _iana_time_zones()


def invalid(field: str, code: str, message: str, **params: Any) -> PydanticCustomError:
    """A validation error of a whole input shape that one field answers for: raised from a
    model validator, it reaches the client at that field with its code (errors.py), so the
    page marks the field and says why in its language (web/locales "problem.<code>")."""
    return PydanticCustomError(code, message, {"field": field, **params})


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApiModel(_Shape):
    """Input shapes refuse unknown fields so typos are reported, not silently ignored."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: object) -> object:
        # PostgreSQL cannot store NUL in text; refuse it up front instead of failing on insert.
        if _contains_nul(data):
            raise PydanticCustomError("text.nul", "text must not contain NUL characters")
        return data


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    return False


class ResponseModel(_Shape):
    """A response shape the server builds from its own rows: the published schema of an input
    shape, without the input checks. Walking every field for NUL on the way out cost a list of
    50 events 12,500 calls; building 50 events then took 1.1 ms, plain values 0.6 ms
    (docs/benchmarks.md, "Fast reads"); what is stored went
    through an input shape first (tests/api/test_response_shapes.py keeps them apart)."""


class ReadModel(BaseModel):
    """A response shape read from a row's attributes (an ORM object or a `select` row)."""

    model_config = ConfigDict(from_attributes=True)


def _valid_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("unknown IANA time zone (e.g. Europe/London, America/New_York)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown IANA time zone") from exc
    return value


def _lower(value: str) -> str:
    return value.lower()


def _refuse_control_characters(value: object) -> object:
    # Before stripping and the pattern: "Title\r\n" is refused, not quietly trimmed, as the
    # published pattern says. The error type lets clients show a message of their own.
    if isinstance(value, str) and not one_line.is_one_line(value):
        raise PydanticCustomError("one_line", one_line.MESSAGE)
    return value


# Last in each one-line type's metadata, so it runs first and the length limits keep their
# usual error types.
ONE_LINE = BeforeValidator(_refuse_control_characters)


Slug = Annotated[
    str, StringConstraints(min_length=3, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])$")
]
# One-line text: every text field that is not a secret or LongText is one of these, or
# another type built with pattern=one_line.PATTERN and ONE_LINE (tests/api/test_one_line_text.py
# walks the OpenAPI document).
Name = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200, strip_whitespace=True, pattern=one_line.PATTERN
    ),
    ONE_LINE,
]
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=one_line.PATTERN), ONE_LINE]
RoleName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=True, pattern=one_line.PATTERN),
    ONE_LINE,
]
# Several lines (descriptions); NUL is still refused, by ApiModel.
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Email = Annotated[EmailStr, AfterValidator(_lower)]
TimeZone = Annotated[
    str,
    StringConstraints(max_length=64, pattern=one_line.PATTERN),
    AfterValidator(_valid_timezone),
    ONE_LINE,
]
Locale = Annotated[
    str,
    Field(json_schema_extra={"enum": list(SUPPORTED_LOCALES)}),
    AfterValidator(lambda v: _one_of(v, SUPPORTED_LOCALES)),
]
# bcrypt only reads 72 bytes; longer passwords are refused rather than silently truncated.
Password = Annotated[
    str, StringConstraints(min_length=8, max_length=72), AfterValidator(lambda v: _max_bytes(v, 72))
]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
# In a JSON body an id is a JSON integer; `Id` also reads the text of paths and query strings.
JsonId = Annotated[int, Strict(), Field(ge=1, le=2**63 - 1)]

# The calendar the API accepts: far from datetime's limits (years 1 and 9999), where converting
# to UTC or to an organisation's time zone overflows.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2200, 12, 31)


def _iso_8601_only(value: object) -> object:
    # pydantic reads 1700000000 or "0.5" as Unix time; the published schema says ISO 8601 text.
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise ValueError("give an ISO 8601 date or date-time, not a number")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def in_calendar(value: datetime) -> bool:
    earliest = datetime.combine(EARLIEST_DAY, datetime.min.time(), UTC)
    latest = datetime.combine(LATEST_DAY, datetime.max.time(), UTC)
    return earliest <= value <= latest


def _within_calendar(value: datetime) -> datetime:
    if not in_calendar(value):
        raise ValueError(f"must be between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


Instant = Annotated[
    AwareDatetime, BeforeValidator(_iso_8601_only), AfterValidator(_within_calendar)
]
Day = Annotated[date, BeforeValidator(_iso_8601_only)]


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in every text parameter, a search term included.
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


SearchText = Annotated[str, AfterValidator(_no_nul)]


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return value


def _max_bytes(value: str, limit: int) -> str:
    if len(value.encode()) > limit:
        raise ValueError(f"must be at most {limit} bytes in UTF-8")
    return value


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
