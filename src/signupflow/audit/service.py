from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.audit.models import AuditEntry
from signupflow.db.pagination import paginate
from signupflow.tenancy import scoped


class Actor(Protocol):
    """Who changes something in an organisation: a member (a `Principal`), or `Acting` where
    no request stands behind the change (the CLI publishing a schedule)."""

    @property
    def organisation_id(self) -> int: ...

    @property
    def user_id(self) -> int | None: ...


@dataclass(frozen=True)
class Acting:
    """An `Actor` without a request: `user_id` is whoever asked, or None (the CLI)."""

    organisation_id: int
    user_id: int | None


def record(
    session: Session,
    *,
    organisation_id: int,
    actor_user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append who changed what. Values must be JSON-safe; never pass secrets."""
    session.add(
        AuditEntry(
            organisation_id=organisation_id,
            actor_user_id=actor_user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            changes=changes or {},
        )
    )


def record_for(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: int | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append what the actor changed in their organisation."""
    record(
        session,
        organisation_id=actor.organisation_id,
        actor_user_id=actor.user_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        changes=changes,
    )


def list_entries(
    session: Session, *, organisation_id: int, entity: str | None, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    stmt = scoped(select(AuditEntry), AuditEntry, organisation_id)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    return paginate(session, stmt.order_by(AuditEntry.id.desc()), limit=limit, offset=offset)
