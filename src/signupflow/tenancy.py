"""The only place where organisation ids are compared: every tenant-owned query goes through
`scoped`, and every lookup by id through `get_scoped`, so a caller can never reach another
organisation's rows (they are simply not found)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple, overload

from sqlalchemy import BigInteger, BindParameter, Select, Update, bindparam, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from signupflow.errors import ResourceNotFound

T = TypeVar("T")
_Ts = TypeVarTuple("_Ts")


def _org_column(model: type[Any]) -> InstrumentedAttribute[int]:
    column: InstrumentedAttribute[int] = model.organisation_id
    return column


# An organisation's id, or the bound parameter a statement built once takes it by
# (`ORGANISATION`, given as {"organisation_id": ...} when it runs).
OrganisationId = int | BindParameter[int]
ORGANISATION: BindParameter[int] = bindparam("organisation_id", type_=BigInteger)


@overload
def scoped(
    stmt: Select[*_Ts], model: type[Any], organisation_id: OrganisationId
) -> Select[*_Ts]: ...
@overload
def scoped(stmt: Update, model: type[Any], organisation_id: OrganisationId) -> Update: ...
def scoped(stmt: Select[*_Ts] | Update, model: type[Any], organisation_id: OrganisationId) -> Any:
    """Restrict `stmt` to rows of `model` owned by the organisation."""
    return stmt.where(_org_column(model) == organisation_id)


def get_scoped(
    session: Session,
    model: type[T],
    obj_id: int,
    organisation_id: int,
    *,
    options: Any = (),
    visible: Callable[[Select[T]], Select[T]] | None = None,
    for_change: bool = False,
) -> T:
    """Load one row by id inside the organisation, or raise ResourceNotFound (never 403: the
    existence of another tenant's row is not disclosed). `visible` is the domain's rule for
    who may see which rows (`visible_swaps`), the same one its listing applies: a row hidden
    from the caller is not found, exactly like one that does not exist.

    `for_change`: the caller will change or delete the row, so it is locked until the commit
    (PostgreSQL; SQLite has one writer) and read fresh. Two requests changing one row then
    take turns, and the second sees the first one's result: a row deleted meanwhile is not
    found, instead of a write that matches nothing. FOR NO KEY UPDATE still lets rows that
    refer to this one be inserted, as every sign-up does."""
    stmt = scoped(select(model).where(model.id == obj_id), model, organisation_id)  # type: ignore[attr-defined]
    if visible is not None:
        stmt = visible(stmt)
    if options:
        stmt = stmt.options(*options)
    if for_change:
        stmt = stmt.with_for_update(key_share=True, of=model).execution_options(
            populate_existing=True
        )
        if session.get_bind().dialect.name == "sqlite":
            # SQLite ignores FOR UPDATE and locks at a transaction's first write: a write that
            # changes nothing takes turns here instead (two deletes of one row both matched
            # it, and the second deleted nothing while answering 204).
            session.execute(
                scoped(update(model).where(model.id == obj_id), model, organisation_id).values(  # type: ignore[attr-defined]
                    id=model.id  # type: ignore[attr-defined]
                )
            )
    found = session.scalars(stmt).one_or_none()
    if found is None:
        raise ResourceNotFound(model, obj_id)
    return found
