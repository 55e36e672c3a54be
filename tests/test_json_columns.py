"""JSON columns are read by orjson (db/engine.json_column_loads) and read exactly what
Python's json read before: the same values of the same types, on the database of the pass
and for what only json reads (NaN, integers past 64 bits, lone surrogates). And every JSON
column stores Python None as SQL NULL (db/base.Json), whichever way it is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, insert, select, text

from signupflow.db.base import Base
from signupflow.db.engine import json_column_loads
from tests.factories import add_person, new_org, ok
from tests.support.probe_table import probe_table

STORED = [
    "null",
    "[]",
    '["Sound", "Usher"]',
    "[0, 6]",
    '{"nested": {"x": [1.5, -0.0, 1e-7, 0.1]}, "flag": true, "none": null}',
    '"caf\\u00e9 \\u2028 \\ud83c\\udfb5 \\u0000"',
    '{"a": 1, "a": 2}',
    str(2**63 - 1),
    str(-(2**63)),
    str(2**64),  # orjson would make this a float
    str(-(2**63) - 1),
    "123456789012345678901234567890.5",
    "NaN",  # orjson refuses these: json reads them
    "[Infinity, -Infinity]",
    "1e400",
    '"\\ud800"',
]


def same(read: Any, expected: Any) -> bool:
    """Equal values of equal types all the way down (repr tells 1 from 1.0 and True, and
    shows NaN, which equals nothing)."""
    return repr(read) == repr(expected)


@pytest.mark.parametrize("stored", STORED)
def test_reads_what_json_reads(stored: str) -> None:
    expected = json.loads(stored)
    assert same(json_column_loads(stored), expected)
    assert same(json_column_loads(stored.encode()), expected)  # psycopg hands over bytes


@pytest.mark.parametrize("stored", ["{", "[1,]", "", "nul"])
def test_what_is_no_json_is_the_same_error(stored: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json_column_loads(stored)


# What the app writes (SQLAlchemy's json.dumps) and PostgreSQL's json type takes. Numbers
# inside a list: SQLite's column affinity would store a bare number as a number, not as JSON.
WRITTEN: list[Any] = [
    None,
    [],
    ["Sound", "Usher"],
    [0, 6],
    {"nested": {"x": [1.5, -0.0, 1e-7]}, "flag": True, "none": None},
    "café \u2028 \U0001f3b5",
    [2**64, -(2**63) - 1, 2**63 - 1],
]


def test_the_database_of_the_pass_reads_json_columns_back_as_json_did(client: TestClient) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    assert engine.dialect._json_deserializer is json_column_loads
    table = Table(
        "json_column_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("value", JSON),
    )
    with engine.connect() as connection, probe_table(connection, table):
        connection.execute(
            insert(table), [{"id": i, "value": value} for i, value in enumerate(WRITTEN)]
        )
        read = connection.execute(select(table.c.value).order_by(table.c.id)).scalars().all()
    assert len(read) == len(WRITTEN)
    for value, back in zip(WRITTEN, read, strict=True):
        assert same(back, json.loads(json.dumps(value)))


def test_every_json_column_stores_none_as_sql_null(client: TestClient) -> None:
    none_as_null = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, JSON):
                none_as_null[f"{table.name}.{column.name}"] = column.type.none_as_null
    assert "people.preferred_roles" in none_as_null  # the app's models are all loaded
    assert [name for name, as_null in none_as_null.items() if not as_null] == []


def test_wishes_cleared_through_the_api_are_sql_null(client: TestClient) -> None:
    org = new_org(client)
    person = add_person(org)["id"]
    wishes = {"preferred_roles": ["usher"], "avoid_weekdays": [0]}
    ok(org.patch(f"/api/v1/people/{person}", json=wishes))
    cleared = ok(org.patch(f"/api/v1/people/{person}", json=dict.fromkeys(wishes)))
    assert (cleared["preferred_roles"], cleared["avoid_weekdays"]) == (None, None)
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        stored = connection.execute(
            text(
                "SELECT preferred_roles IS NULL, avoid_weekdays IS NULL FROM people WHERE id = :id"
            ),
            {"id": person},
        ).one()
    assert tuple(stored) == (True, True)  # not the JSON text `null`
