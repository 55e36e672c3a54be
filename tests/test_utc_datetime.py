"""UTCDateTime reads every stored moment back as the same aware UTC datetime, on the database
of the pass: what the app wrote, the database's own clock (SQLite's CURRENT_TIMESTAMP), and
text written with an offset of its own (rows copied in by hand or by another tool)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Engine, Integer, MetaData, Table, func, insert, select, type_coerce

from signupflow.db.base import UTCDateTime, _utc_from_text
from tests.support.probe_table import probe_table

MOMENTS = [
    datetime(2026, 12, 6, 17, 0, tzinfo=UTC),
    datetime(2026, 12, 6, 17, 0, 0, 120000, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2))),  # read back in UTC
]


def test_written_moments_read_back_equal_and_in_utc(client: TestClient) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    table = Table(
        "utc_datetime_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
    )
    with engine.connect() as connection, probe_table(connection, table):
        connection.execute(
            insert(table), [{"id": i, "at": at} for i, at in enumerate([*MOMENTS, None])]
        )
        read = connection.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
        now = connection.execute(select(type_coerce(func.now(), UTCDateTime()))).scalar_one()
    assert read == [*MOMENTS, None]
    assert all(at.tzinfo is not None and at.utcoffset() == timedelta(0) for at in read[:-1])
    assert read[3].hour == 23  # 01:30 at +02:00 is 23:30 UTC the day before
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-12-06 17:00:00.000000", datetime(2026, 12, 6, 17, 0, tzinfo=UTC)),
        ("2026-12-06 17:00:00", datetime(2026, 12, 6, 17, 0, tzinfo=UTC)),  # CURRENT_TIMESTAMP
        ("2026-12-06T17:00:00.5", datetime(2026, 12, 6, 17, 0, 0, 500000, tzinfo=UTC)),
        ("2026-12-06 19:00:00+02:00", datetime(2026, 12, 6, 17, 0, tzinfo=UTC)),
        ("2026-12-06T17:00:00Z", datetime(2026, 12, 6, 17, 0, tzinfo=UTC)),
        (None, None),
    ],
)
def test_sqlite_text_is_read_as_utc(stored: str | None, expected: datetime | None) -> None:
    read = _utc_from_text(stored)
    assert read == expected
    if read is not None:
        assert read.tzinfo is UTC


def test_sqlite_text_that_is_no_datetime_is_an_error() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        _utc_from_text("not a moment")
