from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from signupflow.audit import service
from signupflow.audit.schemas import AuditRead
from signupflow.deps import API_PREFIX, Admin, DbSession, Pagination
from signupflow.schemas import Page

router = APIRouter(prefix=f"{API_PREFIX}/audit", tags=["audit"])


@router.get("", response_model=Page[AuditRead])
def list_audit(
    session: DbSession,
    actor: Admin,
    page: Pagination,
    entity: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
) -> Page[AuditRead]:
    """Who changed what, newest first. Admins only; the log cannot be edited."""
    items, total = service.list_entries(
        session,
        organisation_id=actor.organisation_id,
        entity=entity,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[AuditRead.model_validate(e) for e in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
