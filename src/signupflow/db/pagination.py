from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def paginate(
    session: Session, stmt: Select[Any], *, limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of `stmt` (already ordered, one entity per row) and the total number of
    matching rows."""
    rows = session.scalars(stmt.limit(limit).offset(offset)).unique().all()
    return list(rows), _count(session, stmt)


def paginate_rows(
    session: Session, stmt: Select[Any], *, limit: int, offset: int
) -> tuple[list[Any], int]:
    """As `paginate`, for statements whose rows hold several columns."""
    rows = session.execute(stmt.limit(limit).offset(offset)).all()
    return list(rows), _count(session, stmt)


def _count(session: Session, stmt: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
