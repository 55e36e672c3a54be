"""How the database would run a statement, reduced to the question the query-plan test asks:
which tables does it read, and through an index or not?

PostgreSQL: `EXPLAIN (FORMAT JSON)` with `SET LOCAL enable_seqscan = off`. The planner then
takes any index path over a sequential scan, so a Seq Scan left in the plan means that no index
can serve the statement on that table. Which index it walks when several can is left to the
planner: that choice follows the statistics (in a test database of a few organisations it walks
the primary key backwards for `ORDER BY id DESC LIMIT`, or merges with a whole index of a tiny
table, where a database of 1,000 organisations uses the organisation's index), so judging it
here would judge the test data, not the code.

SQLite: `EXPLAIN QUERY PLAN`. SQLite plans without statistics (the app never runs ANALYZE), so
the plan is the one production gets, and the rule is stricter: a table must be reached with
`SEARCH` on an equality (or IN) of an index's leading columns, such as the organisation, a
parent row (event_id, person_id) or a unique value (id, token hash). These fail:
- `SCAN t`: every row of the table;
- `SCAN t USING [COVERING] INDEX i`: every entry of an index, in its order (how SQLite serves
  an ORDER BY from an index it cannot search): every organisation's rows, not one's;
- `SEARCH t USING AUTOMATIC [COVERING] INDEX`: SQLite reads the whole table to build a
  throwaway index, because no index fits;
- a `SEARCH` on ranges alone (`starts_at>?`): every organisation's rows in the range.
A search bounded by the organisation that then filters the organisation's rows passes: its
cost does not grow with the number of organisations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from psycopg import sql as psycopg_sql
from sqlalchemy import Engine


@dataclass(frozen=True)
class TableRead:
    table: str
    how: str  # the plan's own words for it
    indexed: bool


@dataclass(frozen=True)
class Plan:
    text: str
    reads: list[TableRead]


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _postgresql_reads(root: dict[str, Any]) -> Iterator[TableRead]:
    for node in _nodes(root):
        if "Relation Name" in node:
            kind = node["Node Type"]
            how = f"{kind} using {node['Index Name']}" if "Index Name" in node else kind
            yield TableRead(node["Relation Name"], how, indexed=kind != "Seq Scan")


def _json_plan(cursor: Any, statement: str, parameters: Any = None) -> dict[str, Any]:
    """The root node of `EXPLAIN (FORMAT JSON)` of the statement."""
    cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
    row = cursor.fetchone()
    assert row is not None
    document = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    root: dict[str, Any] = document[0]["Plan"]
    return root


def explain_postgresql(engine: Engine, sql: str, parameters: Any) -> Plan:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SET LOCAL enable_seqscan = off")
        root = _json_plan(cursor, sql, parameters)
        cursor.execute(f"EXPLAIN {sql}", parameters)
        text = "\n".join(line for (line,) in cursor.fetchall())
    finally:
        connection.rollback()
        connection.close()
    return Plan(text, list(_postgresql_reads(root)))


# psycopg's placeholders: `%(name)s`, and `%%` for a literal percent sign.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
# A row compared with each element of a bound array in turn: `person_id = ANY ($1)` as a
# filter. (PostgreSQL hashes an array of 10 or more elements only when it is a literal.)
_ARRAY_FILTER = re.compile(r"ANY \(\$\d+")


def array_filters_of_generic_plan(engine: Engine, sql: str, parameters: Any) -> list[str]:
    """The filters of the statement's generic plan that test rows against a bound array one
    element at a time. psycopg prepares a statement after its fifth run, and PostgreSQL then
    runs a generic plan, planned without the values: as production runs it, unlike a plain
    EXPLAIN of the statement with its values."""
    names: dict[str, int] = {}

    def numbered(found: re.Match[str]) -> str:
        if found[1] is None:
            return "%"
        return f"${names.setdefault(found[1], len(names) + 1)}"

    prepared = _PLACEHOLDER.sub(numbered, sql)
    connection = engine.raw_connection()
    try:
        driver = connection.driver_connection
        assert driver is not None
        values = [parameters[name] for name in names]
        arguments = ", ".join(psycopg_sql.Literal(value).as_string(driver) for value in values)
        cursor = connection.cursor()
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE generic_plan AS {prepared}")
        try:
            execute = f"EXECUTE generic_plan({arguments})" if values else "EXECUTE generic_plan"
            root = _json_plan(cursor, execute)
        finally:
            connection.rollback()  # a prepared statement outlives the transaction
            connection.cursor().execute("DEALLOCATE generic_plan")
    finally:
        connection.close()
    return [
        f"{node['Node Type']}: {condition}"
        for node in _nodes(root)
        for key in ("Filter", "Join Filter")
        if _ARRAY_FILTER.search(condition := node.get(key, ""))
    ]


# "SCAN people", "SCAN events_1 USING INDEX ix", "SEARCH people USING INDEX ix
# (organisation_id=?)", "SEARCH e USING INTEGER PRIMARY KEY (rowid=?)". SQLite names a table by
# its alias in the statement; subqueries, temporary b-trees and bloom filters are no table.
_SQLITE_READ = re.compile(r"^(?P<verb>SCAN|SEARCH) (?P<name>\w+)(?P<rest>.*)$")
_ALIAS = re.compile(r"\b(\w+) AS (\w+)\b")
# An equality, not part of `<=`, `>=` or `!=`: `organisation_id=?`, `rowid=?`.
_EQUALITY = re.compile(r"(?<![<>!=])=(?!=)")


def _sqlite_reads(details: list[str], names: dict[str, str]) -> Iterator[TableRead]:
    for detail in details:
        found = _SQLITE_READ.match(detail)
        if found is None or found["name"] not in names:
            continue
        rest = found["rest"]
        constraint = rest[rest.find("(") :] if "(" in rest else ""
        indexed = (
            found["verb"] == "SEARCH"
            and "AUTOMATIC" not in rest
            and bool(_EQUALITY.search(constraint))
        )
        yield TableRead(names[found["name"]], detail, indexed=indexed)


def explain_sqlite(engine: Engine, sql: str, parameters: Any, tables: set[str]) -> Plan:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", parameters)
        details = [row[3] for row in cursor.fetchall()]
    finally:
        connection.rollback()
        connection.close()
    names = {table: table for table in tables}
    names.update({alias: table for table, alias in _ALIAS.findall(sql) if table in tables})
    return Plan("\n".join(details), list(_sqlite_reads(details, names)))


def explain(engine: Engine, sql: str, parameters: Any, tables: set[str]) -> Plan:
    """The plan of one statement, as the driver received it; `tables`: the schema's tables."""
    if engine.dialect.name == "postgresql":
        return explain_postgresql(engine, sql, parameters)
    return explain_sqlite(engine, sql, parameters, tables)
