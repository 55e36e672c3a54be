"""`column IN` a list of ids sent as one bound parameter, not one per id.

A page's children (the slots of 50 events, the roles of 200 people) are read by the page's
ids. Rendered as `IN (:id_1, ..., :id_200)`, SQLAlchemy wrote the list into the statement on
every request and psycopg, whose parse cache keeps only statements under 4 KB, parsed it
again: a fifth of a 200-person list's samples on PostgreSQL (docs/benchmarks.md). One
parameter keeps the statement's text fixed, so both caches hold it: an array literal cast
and joined as a set (`unnest`) on PostgreSQL, a JSON array read by `json_each` on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Dialect, String, TypeDecorator, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType, TypeEngine


class _Ids(TypeDecorator[Sequence[int]]):
    """Sent as text: a JSON array to SQLite, an array literal (`{1,2}`) to PostgreSQL, cast
    there. psycopg dumped a list of 200 ids element by element: 160 µs, the text 23 µs."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Sequence[int] | None, dialect: Dialect) -> Any:
        ids = [int(id_) for id_ in value or ()]
        if dialect.name == "postgresql":
            return "{" + ",".join(map(str, ids)) + "}"
        return json.dumps(ids)


# Typed as a condition (not a Boolean column): SQLite would otherwise compare it to 1, and a
# compared condition uses no index.
BOOLEAN_EXPRESSION = cast(TypeEngine[bool], NullType())


class AmongIds(ColumnElement[bool]):
    """`column` is one of the ids bound to the parameter `name` (a list of ints)."""

    type = BOOLEAN_EXPRESSION
    inherit_cache = False
    # What the statement cache keys on (SQLAlchemy's protocol: a class-level list).
    _traverse_internals = [  # noqa: RUF012
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[int], name: str) -> None:
        self.column = column
        self.ids: BindParameter[Sequence[int]] = bindparam(name, type_=_Ids())


def among_ids(column: Any, name: str) -> AmongIds:
    return AmongIds(column, name)


@compiles(AmongIds)
def _json_each(element: AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    # Compiled fragments (a column, a placeholder), never values: S608 does not apply.
    return f"{column} IN (SELECT value FROM json_each({ids}))"  # noqa: S608


@compiles(AmongIds, "postgresql")
def _unnest(element: AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    # Not `= ANY (array)`: psycopg prepares a statement after its fifth run, and the generic
    # plan PostgreSQL then keeps tests each row against the array's elements one by one (it
    # hashes only a literal array), unless an index scan takes the condition. The roles of
    # 200 people: 3.0 ms prepared against 0.9 ms as a set of ids to join. At 1,000
    # organisations `= ANY` is an index scan, 1.2 against 1.5 ms for the statement alone, and
    # the whole request is as fast either way (docs/benchmarks.md, sessions 13 and 14).
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} IN (SELECT unnest(CAST({ids} AS BIGINT[])))"
