from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, BigId, IdMixin, Json, TimestampMixin, UTCDateTime


class NotificationKind(enum.StrEnum):
    SCHEDULE_PUBLISHED = "schedule_published"
    ASSIGNMENT_CHANGED = "assignment_changed"
    SHIFT_REMINDER = "shift_reminder"
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 -- a kind name, not a secret
    # Sent before any organisation or person exists: the recipient is in the payload.
    SIGNUP_CONFIRM = "signup_confirm"
    SIGNUP_EXISTING = "signup_existing"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; `next_attempt_at` is the end of its lease
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; kept for operators, never deleted


class Notification(IdMixin, TimestampMixin, Base):
    """The outbox: written in the same transaction as the change it reports, sent later by
    the worker. (organisation, dedupe_key) is unique, so one event never mails twice. Sign-up
    mails go out before their organisation exists: no organisation, no person, the recipient
    in the payload."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("organisation_id", "dedupe_key"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    organisation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(
            NotificationKind,
            name="notification_kind",
            values_callable=lambda e: [m.value for m in e],
        )
    )
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[NotificationStatus] = mapped_column(
        Enum(
            NotificationStatus,
            name="notification_status",
            values_callable=lambda e: [m.value for m in e],
        ),
        default=NotificationStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
