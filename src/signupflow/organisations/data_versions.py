"""Each organisation's data version: a number that changes in every transaction that changes
anything the organisation's reads show, whoever writes (a request, the worker's solver runs,
the CLI, an import, the demo loader). It is what makes a read's entity tag (conditional.py)
safe with any number of app replicas and workers: it lives in the database and changes in
the same commit as the data.

One place, the session: `track_data_versions(factory)` (db/session.py) makes every session
of the factory note the organisations it writes to, from
- the rows a flush writes (mapper events: inserts, updates, deletes, delete-orphans);
- the UPDATE, DELETE and INSERT statements it executes (`session.execute(update(...))`),
  resolved before they run (`_changed_owners`, `_inserted_owners`);
and give each of them a new random token in one of its version's shards just before the
outermost commit. That row is locked only from that statement to the commit (PostgreSQL),
and a writer draws one of SHARDS rows, so concurrent writers of one organisation seldom
queue for each other's commits (bench/conditional_bench.py).

Writes that bypass the session do not change the version: SQL typed into a database shell,
a restore (which brings back the tokens of the content it restores), and the release before
this one during the deploy that introduces it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    ColumnElement,
    Connection,
    Delete,
    Executable,
    Insert,
    ScalarSelect,
    Select,
    SmallInteger,
    Table,
    Update,
    bindparam,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, object_session, sessionmaker
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import operators

import signupflow.db.models  # noqa: F401  # every table, for the lookups by table name
from signupflow.auth.models import PendingSignUp, RefreshToken, User
from signupflow.db.base import Base
from signupflow.notifications.models import Notification
from signupflow.organisations.models import Organisation, OrganisationDataVersion
from signupflow.password_reset.models import PasswordReset
from signupflow.people.models import Membership, PersonSkill
from signupflow.teams.models import team_members
from signupflow.tenancy import ORGANISATION, OrganisationId, scoped

TOUCHED = "signupflow.touched_organisations"  # session.info key: organisation ids to bump
# Rows per organisation's version. With one, writers of an organisation queued for its lock
# across each other's commits: 32 concurrent writers on PostgreSQL (fsync on) managed 36 %
# fewer transactions than without a version (bench/conditional_bench.py).
SHARDS = 16
TOKEN_LIMIT = 2**58  # the sum of SHARDS tokens stays a signed 64-bit integer

# Tables without an organisation_id column whose rows reads still show, and the column that
# names their owner: the row's own id (an organisation), or a parent row's (a person's roles,
# a team's members; a user's e-mail shows on /me in every organisation they belong to).
OWNER_VIA: dict[str, str] = {
    Organisation.__tablename__: "id",
    PersonSkill.__tablename__: "person_id",
    team_members.name: "team_id",
    User.__tablename__: "id",
}
# Written often and shown by no read: leaving them out keeps every login, token refresh and
# mail sent from making each reader of the organisation fetch everything again.
UNSHOWN: dict[str, str] = {
    RefreshToken.__tablename__: "login sessions: written at every login and refresh",
    Notification.__tablename__: "the outbox: written as mail is queued, claimed and sent",
    PendingSignUp.__tablename__: "sign-ups awaiting confirmation belong to no organisation",
    PasswordReset.__tablename__: "reset links",
    OrganisationDataVersion.__tablename__: "the versions themselves",
}


class UnclassifiedTable(RuntimeError):
    def __init__(self, table: str) -> None:
        super().__init__(
            f"table {table} has no organisation_id: say in organisations/data_versions.py "
            "whose reads show its rows (OWNER_VIA) or that none does (UNSHOWN)"
        )


def owner_key(table: Table) -> tuple[str, Table]:
    """The column of `table` that names a row's owner, and the table whose id it holds:
    organisations itself when the value is the organisation's id."""
    if "organisation_id" in table.c:
        return "organisation_id", _ORGANISATIONS
    if table.name not in OWNER_VIA:
        raise UnclassifiedTable(table.name)
    column = OWNER_VIA[table.name]
    if column == "id":
        return column, table
    (foreign_key,) = table.c[column].foreign_keys
    parent = foreign_key.column.table
    assert isinstance(parent, Table)
    return column, parent


_ORGANISATIONS: Table = Organisation.__table__  # type: ignore[assignment]
_USERS: Table = User.__table__  # type: ignore[assignment]


def track_data_versions(factory: sessionmaker[Session]) -> None:
    """Make every session of `factory` give the organisations it writes to a new version
    when it commits."""
    if not event.contains(Base, "after_insert", _row_written):
        # Mapper events are global; they only note organisations in the row's own session.
        for name in ("after_insert", "after_update", "after_delete"):
            event.listen(Base, name, _row_written, propagate=True)
    event.listen(factory, "do_orm_execute", _statement_executed)
    event.listen(factory, "before_commit", _bump_before_commit)
    event.listen(factory, "after_transaction_end", _forget_after_transaction)


def current_version(session: Session, organisation_id: int) -> str:
    """The organisation's version ("" before its first tracked write)."""
    return as_version(session.scalar(_version_query(), {"organisation_id": organisation_id}))


def as_version(value: Any) -> str:
    """What `version_of` read, as the version ("" before the first tracked write)."""
    return "" if value is None else str(value)


def version_of(organisation_id: OrganisationId) -> ScalarSelect[Any]:
    """The version as a scalar subquery, for a statement that reads other things too (the
    sum of the shards' tokens: any token that changes changes it)."""
    return scoped(
        select(func.sum(OrganisationDataVersion.token)), OrganisationDataVersion, organisation_id
    ).scalar_subquery()


@cache
def _version_query() -> Select[Any]:
    """Built once: it runs on every tagged read."""
    return select(version_of(ORGANISATION))


def _note(session: Session, organisation_ids: Iterable[int]) -> None:
    touched: set[int] = session.info.setdefault(TOUCHED, set())
    touched.update(organisation_ids)


def _row_written(_mapper: Any, connection: Connection, target: Any) -> None:
    table: Table = target.__table__
    session = object_session(target)
    if session is None or table.name in UNSHOWN:
        return
    column, parent = owner_key(table)
    _note(session, _owners_of(session, connection, parent, [getattr(target, column)]))


def _owners_of(
    session: Session, connection: Connection, table: Table, ids: Iterable[Any]
) -> set[int]:
    """The organisations owning the rows of `table` with these ids. A row's owner never
    changes: from the objects the session holds where it can, else from the database."""
    wanted = {row_id for row_id in ids if row_id is not None}
    if table is _ORGANISATIONS or not wanted:
        return wanted
    if table is _USERS:
        return set(
            connection.scalars(
                select(Membership.organisation_id).where(Membership.user_id.in_(wanted))
            )
        )
    found: set[int] = set()
    model = _models().get(table.name)
    for row_id in list(wanted):
        held = session.identity_map.get(identity_key(model, (row_id,))) if model else None
        organisation_id = held.__dict__.get("organisation_id") if held is not None else None
        if organisation_id is not None:
            found.add(organisation_id)
            wanted.discard(row_id)
    if wanted:
        found.update(
            connection.scalars(
                select(table.c.organisation_id).distinct().where(table.c.id.in_(wanted))
            )
        )
    return found


@cache
def _models() -> dict[str, type[Any]]:
    """Mapped classes by table name, for the tables keyed by `id`."""
    return {
        mapper.local_table.name: mapper.class_  # type: ignore[attr-defined]
        for mapper in Base.registry.mappers
        if mapper.local_table.primary_key.columns.keys() == ["id"]  # type: ignore[attr-defined]
    }


def _statement_executed(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    statement = state.statement
    assert isinstance(statement, Update | Delete | Insert)
    target = statement.table
    assert isinstance(target, Table)  # an ORM statement's table is an annotated copy
    table = Base.metadata.tables[target.name]
    if table.name in UNSHOWN:
        return
    session = state.session
    connection = session.connection()
    if isinstance(statement, Insert):
        owners = _inserted_owners(session, connection, table, statement, state.parameters)
    else:
        owners = _changed_owners(session, connection, table, statement)
    _note(session, owners)


def _changed_owners(
    session: Session, connection: Connection, table: Table, statement: Update | Delete
) -> set[int]:
    """The organisations an UPDATE or DELETE writes to, found before it runs.

    A condition naming rows, or their parent rows, by id (`id == 7`, `person_id IN (...)`)
    names their owners without racing concurrent writers, since no row changes owner: those
    come first. Only a statement with neither falls back to the rows its whole condition
    matches just before it runs."""
    column, parent = owner_key(table)
    required = list(_equalities(table, statement.whereclause))
    for name, values in required:
        if name == column:
            return _owners_of(session, connection, parent, values)
    for name, values in required:
        named = _parent_table(table, name)
        if named is not None:
            return _owners_of(session, connection, named, values)
    keys = select(table.c[column]).distinct()
    if statement.whereclause is not None:
        keys = keys.where(statement.whereclause)
    return _owners_of(session, connection, parent, connection.scalars(keys))


def _inserted_owners(
    session: Session, connection: Connection, table: Table, statement: Insert, parameters: Any
) -> set[int]:
    rows: list[Mapping[str, Any]]
    if isinstance(parameters, Mapping) and parameters:
        rows = [parameters]
    elif isinstance(parameters, list) and parameters:
        rows = parameters
    else:
        rows = [statement.compile(dialect=connection.dialect).params]
    column, parent = owner_key(table)
    values = [row.get(column) for row in rows]
    if any(value is None for value in values):
        raise RuntimeError(
            f"an INSERT into {table.name} without {column} among its values: the organisation "
            "it writes to cannot be told before it runs (organisations/data_versions.py)"
        )
    return _owners_of(session, connection, parent, values)


def _conjuncts(clause: ColumnElement[Any] | None) -> Iterator[ColumnElement[Any]]:
    if clause is None:
        return
    if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        for part in clause.clauses:
            yield from _conjuncts(part)
    else:
        yield clause


def _equalities(table: Table, where: ColumnElement[Any] | None) -> Iterator[tuple[str, list[Any]]]:
    """(column, values) for each `column == value` or `column IN (values)` on `table` that
    the whole condition requires."""
    for clause in _conjuncts(where):
        if not isinstance(clause, BinaryExpression):
            continue
        left, right = clause.left, clause.right
        if getattr(left, "table", None) is not table or not isinstance(right, BindParameter):
            continue
        if clause.operator is operators.eq:
            yield left.name, [right.effective_value]
        elif clause.operator is operators.in_op and right.expanding:
            yield left.name, list(right.effective_value or [])


def _parent_table(table: Table, column: str) -> Table | None:
    """The organisation-owned table whose rows `table.column` names by id (the same
    organisation's, as every reference is): the table itself for its id, or the one a foreign
    key refers to. Not users: a user belongs to any number of organisations."""
    if column == "id":
        return table if "organisation_id" in table.c else None
    for foreign_key in table.c[column].foreign_keys:
        parent = foreign_key.column.table
        if (
            isinstance(parent, Table)
            and foreign_key.column.name == "id"
            and ("organisation_id" in parent.c or parent is _ORGANISATIONS)
        ):
            return parent
    return None


def _bump_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: the outermost commit bumps
    # The commit's own flush runs after this event: flush first, so its rows are noted.
    session.flush()
    touched: set[int] = session.info.pop(TOUCHED, set())
    if touched:
        bump(session, touched)


def bump(session: Session, organisation_ids: Iterable[int]) -> None:
    """Give each organisation a new version, in the session's transaction: a new token in one
    of its SHARDS rows, drawn at random (writers of one organisation wait for each other
    only when they draw the same one). One statement per organisation, in id order: a
    transaction writing to several takes their rows' locks in the same order as any other,
    so two of them cannot deadlock."""
    connection = session.connection()
    statement = _bump_statement(connection.dialect.name)
    for organisation_id in sorted(set(organisation_ids)):
        connection.execute(
            statement,
            {
                "organisation": organisation_id,
                "shard": secrets.randbelow(SHARDS),
                "token": secrets.randbelow(TOKEN_LIMIT - 1) + 1,
            },
        )


@cache
def _bump_statement(dialect: str) -> Executable:
    """Built once per dialect, so each bump only binds its values."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Table = OrganisationDataVersion.__table__  # type: ignore[assignment]
    # From the organisation's row, so a write that deleted the organisation adds nothing.
    statement = insert(table).from_select(
        ["organisation_id", "shard", "token"],
        select(
            Organisation.id,
            bindparam("shard", type_=SmallInteger),
            bindparam("token", type_=BigInteger),
        ).where(Organisation.id == bindparam("organisation")),
    )
    return statement.on_conflict_do_update(
        index_elements=["organisation_id", "shard"], set_={"token": statement.excluded.token}
    )


def _forget_after_transaction(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(TOUCHED, None)
