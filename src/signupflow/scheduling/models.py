from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signupflow.db.base import Base, BigId, IdMixin, Json, TimestampMixin, UTCDateTime


class ScheduleStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker (SOLVER_IN_WORKER)
    RUNNING = "running"  # a worker is solving it
    FAILED = "failed"  # the run raised; `report.error` says why
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"  # another schedule for an overlapping range was published
    UNPUBLISHED = "unpublished"


# The statuses of a run that is still to finish (a queued or running schedule).
ACTIVE_RUN_SQL = "status IN ('queued', 'running')"


class EntrySource(enum.StrEnum):
    SOLVER = "solver"
    KEPT = "kept"  # an existing confirmed assignment, self sign-up or manual assignment
    EDIT = "edit"  # added by hand to the draft


class Schedule(IdMixin, TimestampMixin, Base):
    """One solver run over a date range: the draft it produced and the run's report."""

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # One solve per organisation at a time, whichever instance or worker runs it: the
        # database refuses a second queued or running schedule (scheduling/runs.py admit).
        Index(
            "uq_schedules_one_active_run",
            "organisation_id",
            unique=True,
            sqlite_where=text(ACTIVE_RUN_SQL),
            postgresql_where=text(ACTIVE_RUN_SQL),
        ),
    )

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[ScheduleStatus] = mapped_column(
        Enum(
            ScheduleStatus, name="schedule_status", values_callable=lambda e: [m.value for m in e]
        ),
        default=ScheduleStatus.DRAFT,
    )
    requested_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    report: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)

    entries: Mapped[list[ScheduleEntry]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ScheduleEntry.id"
    )


class ScheduleEntry(IdMixin, Base):
    """One person in one role slot of a schedule."""

    __tablename__ = "schedule_entries"
    __table_args__ = (UniqueConstraint("schedule_id", "slot_id", "person_id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    schedule_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(BigId, ForeignKey("event_slots.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(64))
    source: Mapped[EntrySource] = mapped_column(
        Enum(
            EntrySource,
            name="schedule_entry_source",
            values_callable=lambda e: [m.value for m in e],
        )
    )
