from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Enum,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Time,
)

from signupflow.db.base import UTCDateTime
from signupflow.db.fingerprint import Difference, TableDigest, TableFingerprint, compare
from tests.transfer.support import POSTGRESQL_PASS_ONLY

pytestmark = POSTGRESQL_PASS_ONLY


class Colour(enum.StrEnum):
    RED = "red"


TABLE = Table(
    "things",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("at", UTCDateTime()),
    Column("on", Date),
    Column("from", Time),
    Column("flag", Boolean),
    Column("data", JSON),
    Column("colour", Enum(Colour)),
    Column("amount", Numeric(10, 2)),
    Column("name", String(50)),
    Column("count", Integer),
)
INSTANT = datetime(2027, 10, 31, 1, 30, 0, 500, tzinfo=UTC)
ROW: tuple[Any, ...] = (
    1,
    INSTANT,
    date(2028, 2, 29),
    time(23, 59, 59, 999_999),
    True,
    {"b": [1, 2.5, None], "a": {"é": "🎉"}},
    Colour.RED,
    Decimal("1.10"),
    "שלום",
    None,
)


def _fingerprint(*rows: tuple[Any, ...]) -> TableFingerprint:
    digest = TableDigest(TABLE)
    digest.add_many(rows)
    return digest.result()


def _with(**changes: Any) -> tuple[Any, ...]:
    names = [column.name for column in TABLE.columns]
    return tuple(changes.get(name, value) for name, value in zip(names, ROW, strict=True))


def test_equal_values_in_each_backends_representation_fingerprint_the_same() -> None:
    assert _fingerprint(ROW) == _fingerprint(
        _with(
            at=INSTANT.astimezone(timezone(timedelta(hours=-4))),  # same instant, other offset
            flag=1,  # SQLite's boolean
            data={"a": {"é": "🎉"}, "b": [1, 2.5, None]},  # other key order
            colour="red",  # the label instead of the member
            amount=Decimal("1.1"),
        )
    )
    naive_utc = INSTANT.replace(tzinfo=None)  # how SQLite stores UTC
    assert _fingerprint(ROW) == _fingerprint(_with(at=naive_utc))


def test_different_values_fingerprint_differently() -> None:
    for changed in (
        _with(at=INSTANT + timedelta(microseconds=1)),
        _with(flag=False),
        _with(data={"b": [1, 2.5], "a": {"é": "🎉"}}),
        _with(data={"b": [True, 2.5, None], "a": {"é": "🎉"}}),  # true is not 1 in JSON
        _with(name="שלום "),
        _with(count=0),  # NULL is not zero
        _with(name=None),
    ):
        assert _fingerprint(changed) != _fingerprint(ROW), changed


def test_row_order_does_not_matter_but_duplicates_and_swapped_values_do() -> None:
    other = _with(id=2, name="Ada")
    assert _fingerprint(ROW, other) == _fingerprint(other, ROW)
    assert _fingerprint(ROW, ROW, other).checksum != _fingerprint(other).checksum
    assert _fingerprint(ROW, ROW) != _fingerprint(ROW)
    swapped = (_with(id=1, name="Ada"), _with(id=2, name="שלום"))
    assert _fingerprint(*swapped) != _fingerprint(ROW, other)


def test_an_empty_table_has_a_zero_checksum() -> None:
    assert _fingerprint() == TableFingerprint(rows=0, checksum="0" * 32)


def test_compare_names_every_table_that_differs() -> None:
    same = TableFingerprint(1, "a" * 32)
    expected = {"kept": same, "changed": TableFingerprint(2, "b" * 32), "lost": same}
    actual = {"kept": same, "changed": TableFingerprint(3, "b" * 32), "extra": same}
    differences = compare(expected, actual)
    assert differences == [
        Difference("changed", expected["changed"], actual["changed"]),
        Difference("extra", None, same),
        Difference("lost", same, None),
    ]
    assert [str(d) for d in differences] == [
        "changed: 3 rows, expected 2",
        f"extra: unexpected table ({same})",
        f"lost: missing (expected {same})",
    ]
    assert compare(expected, dict(expected)) == []
