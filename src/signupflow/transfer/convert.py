"""Values read from SQLite (already through the column types: booleans, aware UTC datetimes,
parsed JSON, enum members), checked and coerced for PostgreSQL.

SQLite accepts anything in any column; PostgreSQL does not. What it would refuse is found
here, per row and column, so an operator gets a list of rows to fix instead of one driver
error in the middle of a batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Integer,
    SmallInteger,
    String,
    Table,
    Time,
    TypeDecorator,
)
from sqlalchemy.types import TypeEngine

Converter = Callable[[Any], Any]

# PostgreSQL's integer ranges (smallint, integer, bigint).
_INTEGER_BITS: tuple[tuple[type[Integer], int], ...] = (
    (SmallInteger, 16),
    (BigInteger, 64),
    (Integer, 32),
)


# PostgreSQL's json type refuses NaN and Infinity, which Python's json writes by default.
_STRICT_JSON = json.JSONEncoder(allow_nan=False)


class Unconvertible(ValueError):
    """PostgreSQL would refuse this value."""


@dataclass(frozen=True)
class ConversionProblem:
    table: str
    key: dict[str, Any]
    column: str
    reason: str

    def __str__(self) -> str:
        key = ", ".join(f"{name}={value!r}" for name, value in self.key.items())
        return f"{self.table} ({key}) column {self.column}: {self.reason}"


def _base_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def _text(length: int | None) -> Converter:
    def convert(value: Any) -> str:
        # SQLite's dynamic typing lets a number sit in a text column; PostgreSQL stores its text.
        text = value if isinstance(value, str) else str(value)
        if "\x00" in text:
            raise Unconvertible("contains a NUL character, which PostgreSQL text cannot hold")
        if length is not None and len(text) > length:
            raise Unconvertible(f"{len(text)} characters, the column holds at most {length}")
        return text

    return convert


def _integer(bits: int) -> Converter:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Unconvertible(f"{value!r} is not an integer")
        if not low <= value <= high:
            raise Unconvertible(f"{value} is outside PostgreSQL's {bits}-bit integer range")
        return value

    return convert


def _json(value: Any) -> Any:
    try:
        _STRICT_JSON.encode(value)
    except (TypeError, ValueError) as exc:
        raise Unconvertible(f"not valid JSON for PostgreSQL: {exc}") from None
    return value


def _boolean(value: Any) -> bool:
    if value not in (0, 1):  # True and False compare equal to 1 and 0
        raise Unconvertible(f"{value!r} is not a boolean (0 or 1)")
    return bool(value)


def _instance_of(kind: type, label: str) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, kind) or (kind is date and isinstance(value, datetime)):
            raise Unconvertible(f"{value!r} is not a {label}")
        return value

    return convert


def _aware_datetime(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise Unconvertible(f"{value!r} is not a timestamp")
    if value.tzinfo is None:
        raise Unconvertible("naive timestamp: the column type should have made it UTC")
    return value


def _unchanged(value: Any) -> Any:
    return value


def column_converter(column: Column[Any]) -> Converter:
    base = _base_type(column.type)
    if isinstance(base, Enum):
        return _unchanged  # the Enum type already refused unknown labels while reading
    if isinstance(base, String):
        return _text(base.length)
    if isinstance(base, Boolean):
        return _boolean
    if isinstance(base, Integer):
        bits = next(bits for kind, bits in _INTEGER_BITS if isinstance(base, kind))
        return _integer(bits)
    if isinstance(base, DateTime):
        return _aware_datetime
    if isinstance(base, Date):
        return _instance_of(date, "date")
    if isinstance(base, Time):
        return _instance_of(time, "time of day")
    if isinstance(base, JSON):
        return _json
    return _unchanged


class RowConverter:
    """Turns rows of one table (in column order) into insert parameters keyed by column."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._keys = [column.key for column in table.columns]
        self._converters = [column_converter(column) for column in table.columns]
        self._primary_key = [
            index for index, column in enumerate(table.columns) if column.primary_key
        ]

    def convert(
        self, rows: Sequence[Sequence[Any]], problems: list[ConversionProblem]
    ) -> list[dict[str, Any]]:
        """Converted rows; a row PostgreSQL would refuse is left out and added to `problems`."""
        converted: list[dict[str, Any]] = []
        for row in rows:
            values: dict[str, Any] = {}
            for key, convert, value in zip(self._keys, self._converters, row, strict=True):
                try:
                    values[key] = None if value is None else convert(value)
                except Unconvertible as exc:
                    problems.append(self._problem(row, key, str(exc)))
                    break
            else:
                converted.append(values)
        return converted

    def _problem(self, row: Sequence[Any], column: str, reason: str) -> ConversionProblem:
        key = {self._keys[index]: row[index] for index in self._primary_key}
        return ConversionProblem(table=self.table.name, key=key, column=column, reason=reason)
