from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, BigId, IdMixin, Json, TimestampMixin


class AuditEntry(IdMixin, TimestampMixin, Base):
    """Append-only: the application only ever inserts these rows."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # One entity's history (the calendar feeds' edit counts, `GET /audit?entity=`) without
        # reading the organisation's whole log, which only grows.
        Index("ix_audit_log_organisation_id_entity", "organisation_id", "entity", "entity_id"),
    )

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    actor_user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(BigId, default=None)
    changes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
