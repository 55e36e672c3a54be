"""Declarative base with stable constraint names and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Integer,
    Label,
    MetaData,
    String,
    TypeDecorator,
    func,
    type_coerce,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column

# Stable names make migrations reproducible and let Alembic drop constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT identity on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Every JSON column's type: Python None is stored as SQL NULL, never as the JSON text `null`.
# With SQLAlchemy's default a column left unset held SQL NULL and one set to None (a PATCH to
# null, an ORM copy, `db migrate-sqlite`) held `null`: one "no value" stored two ways, and
# the second decoded on every read (1.5 ms of a 200-person list, docs/benchmarks.md).
Json = JSON(none_as_null=True)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "sqlite":
            return _utc_from_text
        return super().result_processor(dialect, coltype)


def _utc_from_text(value: str | None) -> datetime | None:
    """A datetime as SQLite stores it, UTC text without an offset, read as an aware one in a
    single step: parsing and then `replace(tzinfo=UTC)` took 1.5 µs a value, this 0.2 µs (a
    list of 200 people carries 200, docs/benchmarks.md)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # text written with an offset of its own
        return _as_utc(datetime.fromisoformat(value))


def _as_utc(moment: datetime) -> datetime:
    """A naive datetime taken as UTC; an aware one converted to it."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )


def as_text(column: InstrumentedAttribute[Any]) -> Label[str]:
    """An enum column read as its stored text, under its own name, for rows written straight
    to JSON (the same value the enum would be written as): turning each value into the enum
    and back made writing a 200-assignment list a fifth of its samples (docs/benchmarks.md)."""
    return type_coerce(column, String).label(column.key)
