from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signupflow.db.base import Base, BigId, IdMixin, TimestampMixin, UTCDateTime


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


# What volunteers (and calendar subscribers) see: a draft may still change or disappear.
PUBLIC_STATUSES = (EventStatus.PUBLISHED, EventStatus.CANCELLED)


class EventSeries(IdMixin, TimestampMixin, Base):
    """The RFC 5545 rule a recurring event's occurrences were made from. The rule is read in
    `timezone` (the organisation's at creation), so 10:00 stays 10:00 local across DST."""

    __tablename__ = "event_series"

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    rrule: Mapped[str] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))


class Event(IdMixin, TimestampMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # An organisation's events in start order, or a date range of them, without reading
        # or sorting its other events (the listing, `from`/`to`, the assignments by date).
        Index("ix_events_organisation_id_starts_at", "organisation_id", "starts_at"),
    )

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    # No foreign key: SQLite can only add one by rebuilding `events`, and dropping the old
    # table would cascade-delete every slot and assignment. Series rows go only with their
    # organisation, which takes the events with it.
    series_id: Mapped[int | None] = mapped_column(BigId, index=True, default=None)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[EventStatus] = mapped_column(
        Enum(EventStatus, name="event_status", values_callable=lambda e: [m.value for m in e]),
        default=EventStatus.DRAFT,
    )

    slots: Mapped[list[EventSlot]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EventSlot.role"
    )


class EventSlot(IdMixin, Base):
    """A role an event needs, with how many people. `filled` is the capacity counter that
    sign-ups increment with a conditional UPDATE, so concurrent sign-ups cannot overbook."""

    __tablename__ = "event_slots"
    __table_args__ = (
        UniqueConstraint("event_id", "role"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("filled >= 0 AND filled <= capacity", name="filled_within_capacity"),
    )

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)
