from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, BigId, IdMixin, TimestampMixin, UTCDateTime


class User(IdMixin, TimestampMixin, Base):
    """A login identity. It may belong to several organisations through memberships."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    # Bumped on password change: every access token minted before it stops working at once.
    token_version: Mapped[int] = mapped_column(Integer, default=1)


class RefreshToken(IdMixin, TimestampMixin, Base):
    """One link of a rotating refresh-token chain; `family` is one login session."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    family: Mapped[str] = mapped_column(String(43), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The successor this token was exchanged for, sealed with a key derived from this
    # token's raw value (auth/successor.py): a second tab presenting it within the grace
    # window gets the same successor, and a database reader alone cannot unseal it.
    successor_sealed: Mapped[str | None] = mapped_column(String(128), default=None)


class PendingSignUp(IdMixin, TimestampMixin, Base):
    """A sign-up waiting for its e-mail address to be confirmed. Not an organisation yet:
    nothing about it is visible until the link in the mail is followed. Only the SHA-256 of
    the confirmation token is stored."""

    __tablename__ = "pending_signups"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(100))
    admin_name: Mapped[str] = mapped_column(String(200))
    organisation_name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    # Deleted when confirmed or, once expired, by the next sign-up: no copy of a password
    # hash outlives its use.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
