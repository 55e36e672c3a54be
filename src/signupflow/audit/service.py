from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.audit.models import AuditEntry
from signupflow.db.pagination import paginate
from signupflow.tenancy import scoped


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: int | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append what the actor changed in their organisation. Values must be JSON-safe; never
    pass secrets."""
    session.add(
        AuditEntry(
            organisation_id=actor.organisation_id,
            actor_user_id=actor.user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            changes=changes or {},
        )
    )


def list_entries(
    session: Session, *, organisation_id: int, entity: str | None, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    stmt = scoped(select(AuditEntry), AuditEntry, organisation_id)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    return paginate(session, stmt.order_by(AuditEntry.id.desc()), limit=limit, offset=offset)
