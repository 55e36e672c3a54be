from __future__ import annotations

from sqlalchemy import Boolean, String, false
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, IdMixin, TimestampMixin


class Organisation(IdMixin, TimestampMixin, Base):
    """A tenant. Every other organisation-owned row points here."""

    __tablename__ = "organisations"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # Whether a taken swap offer waits for an admin before the assignment moves.
    swaps_need_approval: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
