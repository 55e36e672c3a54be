"""A table of a test's own on the database of the pass, gone afterwards on both databases
(SQLite commits CREATE TABLE at once: a rollback alone would leave it behind)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table


@contextmanager
def probe_table(connection: Connection, table: Table) -> Iterator[Table]:
    table.create(connection)
    try:
        yield table
    finally:
        connection.rollback()
        table.drop(connection, checkfirst=True)
        connection.commit()
