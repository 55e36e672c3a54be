from __future__ import annotations

import enum

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, BigId, IdMixin, TimestampMixin


class AssignmentStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class AssignmentSource(enum.StrEnum):
    SELF_SIGNUP = "self_signup"
    SOLVER = "solver"
    MANUAL = "manual"


class Assignment(IdMixin, TimestampMixin, Base):
    __tablename__ = "assignments"
    # One role per person per event: nobody can be an usher and a greeter at the same time.
    __table_args__ = (UniqueConstraint("event_id", "person_id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    slot_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("event_slots.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(64))
    status: Mapped[AssignmentStatus] = mapped_column(
        Enum(
            AssignmentStatus,
            name="assignment_status",
            values_callable=lambda e: [m.value for m in e],
        )
    )
    source: Mapped[AssignmentSource] = mapped_column(
        Enum(
            AssignmentSource,
            name="assignment_source",
            values_callable=lambda e: [m.value for m in e],
        )
    )
    # The rule an admin overrode to place someone who is away then ("time_off" or
    # "availability", availability/eligibility.py); shown beside the place and audited.
    overridden_rule: Mapped[str | None] = mapped_column(String(16), default=None)


class WaitlistEntry(IdMixin, TimestampMixin, Base):
    """A person waiting for a place in a full slot; the lowest id is first in line."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (UniqueConstraint("slot_id", "person_id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    slot_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("event_slots.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(64))
