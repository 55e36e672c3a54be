"""Shapes and constrained types shared by every domain's schemas."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

SUPPORTED_LOCALES = ("en", "es", "fr", "pt", "zh-CN", "zh-TW")
_TIMEZONES = frozenset(available_timezones())


class ApiModel(BaseModel):
    """Input shapes refuse unknown fields so typos are reported, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: object) -> object:
        # PostgreSQL cannot store NUL in text; refuse it up front instead of failing on insert.
        if _contains_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    return False


class ReadModel(BaseModel):
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


Slug = Annotated[
    str, StringConstraints(min_length=3, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])$")
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
RoleName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=64, strip_whitespace=True, pattern=r"^[^\x00-\x1f]+$"
    ),
]
Email = Annotated[EmailStr, AfterValidator(_lower)]
TimeZone = Annotated[str, AfterValidator(_valid_timezone)]
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
