from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def paginate(
    session: Session, stmt: Select[Any], *, limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of `stmt` (already ordered) and the total number of matching rows."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(limit).offset(offset)).unique().all()
    return list(rows), total
