from __future__ import annotations

import enum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, BigId, IdMixin, TimestampMixin


class SwapState(enum.StrEnum):
    OPEN = "open"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class SwapRequest(IdMixin, TimestampMixin, Base):
    """An assignment offered to colleagues. Rows stay after they close, as history."""

    __tablename__ = "swap_requests"

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # NULL once the assignment is cancelled; the offer is closed by then.
    assignment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("assignments.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(64))
    offered_by_person_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    offered_to_person_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), default=None
    )
    taken_by_person_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="SET NULL"), default=None
    )
    decided_by_user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[SwapState] = mapped_column(
        Enum(SwapState, name="swap_state", values_callable=lambda e: [m.value for m in e]),
        default=SwapState.OPEN,
    )
