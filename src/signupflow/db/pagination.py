"""Pages of a listing and the number of rows in all its pages, in one statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

_TOTAL = "_total"


def paginate(
    session: Session, stmt: Select[*tuple[Any, ...]], *, limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of `stmt` (already ordered, one entity per row) and the total number of
    matching rows."""
    rows, total = _page(session, stmt, limit=limit, offset=offset, entities=True)
    return [row[0] for row in rows], total


def paginate_rows(
    session: Session, stmt: Select[*tuple[Any, ...]], *, limit: int, offset: int
) -> tuple[list[Any], int]:
    """As `paginate`, for statements whose rows hold several columns (each row also carries
    the total as `_total`)."""
    return _page(session, stmt, limit=limit, offset=offset)


def _page(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    *,
    limit: int,
    offset: int,
    entities: bool = False,
) -> tuple[list[Row[*tuple[Any, ...]]], int]:
    # The total rides on every row as a window count: a second statement for it cost a list
    # request about a tenth of its time. Only a page past the end has no row to carry it.
    counted = stmt.add_columns(func.count().over().label(_TOTAL))
    result = session.execute(counted.limit(limit).offset(offset))
    # unique(): an entity joined-eager-loaded with a collection comes once per child row.
    rows = list((result.unique() if entities else result).all())
    if rows:
        return rows, int(getattr(rows[0], _TOTAL))
    if offset == 0:
        return rows, 0
    return rows, session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ) or 0
