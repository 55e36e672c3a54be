from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, BigId, IdMixin, TimestampMixin, UTCDateTime


class CalendarFeed(IdMixin, TimestampMixin, Base):
    """A secret subscription URL: a person's assignments, or (person_id NULL) the
    organisation's published events. The token is not stored: only its SHA-256, and the salt
    it is derived from with the secret key (auth/tokens.derived_token), so its owner can be
    shown it again while the database alone reveals nothing."""

    __tablename__ = "calendar_feeds"

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True, default=None
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # NULL for feeds made before revision 0009: their token was random, and is not shown again.
    token_salt: Mapped[str | None] = mapped_column(String(64), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
