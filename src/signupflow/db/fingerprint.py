"""Order-independent fingerprints of table contents, comparable across SQLite and PostgreSQL.

Each value is canonicalised by its column's type (so SQLite's 0/1 and PostgreSQL's booleans,
naive-UTC and aware timestamps, JSON text and parsed JSON agree), each row is hashed with
SHA-256, and a table's checksum is the sum of its rows' 128-bit hash prefixes modulo 2**128:
independent of row order, and unlike XOR a duplicated row does not cancel itself out.
Used to verify a SQLite → PostgreSQL copy and, later, backups.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Time,
    TypeDecorator,
    select,
)
from sqlalchemy.types import TypeEngine

CHECKSUM_BITS = 128
_MODULUS = 1 << CHECKSUM_BITS
READ_BATCH = 5_000

Canonicaliser = Callable[[Any], Any]
# One encoder, built once: json.dumps with options builds a new one per call.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    checksum: str  # 32 hex digits

    def __str__(self) -> str:
        return f"{self.rows} rows, checksum {self.checksum}"


@dataclass(frozen=True)
class Difference:
    """One table whose fingerprints differ; `None` when a side lacks the table."""

    table: str
    expected: TableFingerprint | None
    actual: TableFingerprint | None

    def __str__(self) -> str:
        if self.expected is None:
            return f"{self.table}: unexpected table ({self.actual})"
        if self.actual is None:
            return f"{self.table}: missing (expected {self.expected})"
        if self.expected.rows != self.actual.rows:
            return f"{self.table}: {self.actual.rows} rows, expected {self.expected.rows}"
        return (
            f"{self.table}: same row count ({self.actual.rows}) but different contents "
            f"(checksum {self.actual.checksum}, expected {self.expected.checksum})"
        )


def _base_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    # A TypeDecorator (UTCDateTime) returns values of its implementation's kind.
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def _datetime(value: datetime) -> str:
    # Naive values are UTC by the schema's convention (SQLite stores no offset).
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _time(value: time) -> str:
    return value.isoformat(timespec="microseconds")


def _date(value: date) -> str:
    return value.isoformat()


def _boolean(value: Any) -> bool:
    return bool(value)


def _json(value: Any) -> str:
    return _CANONICAL_JSON.encode(value)


def _enum(value: Any) -> str:
    return str(value.value) if isinstance(value, PyEnum) else str(value)


def _integer(value: Any) -> int:
    return int(value)


def _float(value: Any) -> str:
    number = float(value)
    return repr(number) if math.isfinite(number) else str(number)


def _decimal(value: Any) -> str:
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(number.normalize(), "f") if number.is_finite() else str(number)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _binary(value: Any) -> str:
    return bytes(value).hex()


def canonicaliser(type_: TypeEngine[Any]) -> Canonicaliser:
    """The function that turns a value of this column type into its canonical JSON value."""
    base = _base_type(type_)
    # Order matters: Enum is a String, DateTime is not a Date, Float is a Numeric.
    kinds: tuple[tuple[type[TypeEngine[Any]], Canonicaliser], ...] = (
        (DateTime, _datetime),
        (Date, _date),
        (Time, _time),
        (Boolean, _boolean),
        (JSON, _json),
        (Enum, _enum),
        (Integer, _integer),
        (Float, _float),
        (Numeric, _decimal),
        (String, _string),
        (LargeBinary, _binary),
    )
    for kind, function in kinds:
        if isinstance(base, kind):
            return function
    return _string


class TableDigest:
    """Accumulates rows (in any order) of one table into its fingerprint."""

    def __init__(self, table: Table) -> None:
        self._canonical = [canonicaliser(column.type) for column in table.columns]
        # Every row hash starts with the column names: a renamed or reordered column cannot
        # match silently.
        self._header = hashlib.sha256(
            _CANONICAL_JSON.encode([column.name for column in table.columns]).encode() + b"\n"
        )
        self.rows = 0
        self._sum = 0

    def add(self, row: Sequence[Any]) -> None:
        """A row's values in the table's column order."""
        values = [
            None if value is None else canonical(value)
            for canonical, value in zip(self._canonical, row, strict=True)
        ]
        hasher = self._header.copy()
        hasher.update(_CANONICAL_JSON.encode(values).encode())
        prefix = int.from_bytes(hasher.digest()[: CHECKSUM_BITS // 8], "big")
        self._sum = (self._sum + prefix) % _MODULUS
        self.rows += 1

    def add_many(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.add(row)

    def result(self) -> TableFingerprint:
        return TableFingerprint(rows=self.rows, checksum=f"{self._sum:032x}")


def fingerprint_table(
    connection: Connection, table: Table, *, batch_size: int = READ_BATCH
) -> TableFingerprint:
    digest = TableDigest(table)
    result = connection.execute(select(table), execution_options={"yield_per": batch_size})
    for partition in result.partitions():
        digest.add_many(partition)
    return digest.result()


def fingerprint(
    connection: Connection,
    metadata: MetaData,
    *,
    tables: Iterable[str] | None = None,
    batch_size: int = READ_BATCH,
) -> dict[str, TableFingerprint]:
    """Fingerprints of every table in `metadata` (or of `tables`), read through `connection`.
    Call it inside one transaction (at least REPEATABLE READ on PostgreSQL) for a consistent
    snapshot across tables."""
    wanted = set(tables) if tables is not None else None
    return {
        table.name: fingerprint_table(connection, table, batch_size=batch_size)
        for table in metadata.sorted_tables
        if wanted is None or table.name in wanted
    }


def compare(
    expected: Mapping[str, TableFingerprint], actual: Mapping[str, TableFingerprint]
) -> list[Difference]:
    """Every table whose fingerprint differs, in a stable order; empty when all match."""
    return [
        Difference(table=name, expected=expected.get(name), actual=actual.get(name))
        for name in sorted(set(expected) | set(actual))
        if expected.get(name) != actual.get(name)
    ]
