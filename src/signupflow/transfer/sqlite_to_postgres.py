"""Copy a SQLite SignUpFlow database into an empty PostgreSQL one, all or nothing.

The source is opened read-only and read in one snapshot. The target is migrated to the code's
head first (its own committed step, like `signupflow db upgrade`); then one transaction locks
every app table, checks it is empty (or truncates it with `replace`), inserts the rows table by
table in foreign-key order, keeping ids, moves each id sequence past the largest id, compares
the per-table fingerprints of both sides, and commits only when they are equal. An error, a
mismatch or a killed process leaves the target as it was before that transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    exists,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from signupflow.db import migrate
from signupflow.db.engine import normalise_url
from signupflow.db.fingerprint import TableDigest, TableFingerprint, compare, fingerprint
from signupflow.db.models import Base
from signupflow.transfer.convert import ConversionProblem, RowConverter
from signupflow.transfer.errors import (
    CopyFailed,
    SourceProblem,
    TargetNotEmpty,
    TransferError,
    UsageProblem,
    VerificationFailed,
)

DEFAULT_BATCH_SIZE = 5_000
MAX_PROBLEMS_SHOWN = 50
# Another session holding a lock on an app table (a running app, a stuck query) makes the copy
# wait this long, then fail with the target unchanged, instead of hanging.
LOCK_TIMEOUT = "30s"


class Reporter(Protocol):
    def step(self, message: str) -> None: ...

    def table_progress(self, table: str, done: int, total: int) -> None: ...


class SilentReporter:
    def step(self, message: str) -> None:
        pass

    def table_progress(self, table: str, done: int, total: int) -> None:
        pass


@dataclass(frozen=True)
class TransferReport:
    tables: dict[str, TableFingerprint]
    seconds: float
    dry_run: bool
    replaced: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def redacted(url: str) -> str:
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def source_path(source: str) -> Path:
    """The SQLite file named by a path or a `sqlite:///` URL."""
    if "://" not in source:
        return Path(source)
    try:
        url = make_url(source)
    except ArgumentError as exc:
        raise UsageProblem(f"SOURCE is not a valid URL: {exc}") from None
    if url.get_backend_name() != "sqlite":
        raise UsageProblem(
            f"SOURCE must be a SQLite file or sqlite:/// URL, not {redacted(source)}"
        )
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise UsageProblem("SOURCE must name a SQLite file")
    return Path(url.database)


def open_source(source: str) -> Engine:
    """A read-only engine on the SQLite file whose transactions are real snapshots."""
    path = source_path(source)
    if not path.is_file():
        raise SourceProblem(f"no SQLite database at {path}")
    # mode=ro: the copy must never change (or create) the source. A URI path is %-encoded.
    url = URL.create(
        "sqlite", database=f"file:{quote(str(path.resolve()))}", query={"mode": "ro", "uri": "true"}
    )
    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # sqlite3 would not begin a transaction for SELECTs: each would see its own snapshot.
        connection.exec_driver_sql("BEGIN")

    return engine


def open_target(target_url: str) -> Engine:
    try:
        url = make_url(normalise_url(target_url))
    except ArgumentError as exc:
        raise UsageProblem(f"TARGET is not a valid URL: {exc}") from None
    if url.get_backend_name() != "postgresql":
        raise UsageProblem(f"TARGET must be a PostgreSQL URL, not {url.get_backend_name()}")
    return create_engine(
        url,
        poolclass=NullPool,
        hide_parameters=True,  # parameters are people's data and password hashes
        connect_args={"connect_timeout": 10, "application_name": "signupflow-migrate-sqlite"},
    )


def check_source(connection: Connection, metadata: MetaData) -> None:
    try:
        revision = MigrationContext.configure(connection).get_current_revision()
        present = set(inspect(connection).get_table_names())
    except DBAPIError as exc:
        raise SourceProblem(f"cannot read the source database: {exc.orig}") from None
    head = migrate.head_revision()
    if revision is None:
        raise SourceProblem("the source has no schema revision: is it a SignUpFlow database?")
    if revision != head:
        raise SourceProblem(
            f"the source is at schema revision {revision}, this version of SignUpFlow expects "
            f"{head}; bring the source to {head} first (`signupflow db upgrade` with "
            "DATABASE_URL pointing at it, using this version) or use the matching version"
        )
    missing = sorted(set(metadata.tables) - present)
    if missing:
        raise SourceProblem(f"the source lacks tables: {', '.join(missing)}")


def nonempty_tables(connection: Connection, tables: list[Table]) -> list[str]:
    return [
        table.name for table in tables if connection.scalar(select(exists().select_from(table)))
    ]


def _existing_tables(connection: Connection, metadata: MetaData) -> list[Table]:
    present = set(inspect(connection).get_table_names())
    return [table for table in metadata.sorted_tables if table.name in present]


def check_target(engine: Engine, metadata: MetaData, *, replace: bool) -> list[str]:
    """Before anything is written: the target is reachable and empty (or `replace`). Returns
    the tables holding data."""
    with engine.connect() as connection:
        filled = nonempty_tables(connection, _existing_tables(connection, metadata))
    if filled and not replace:
        raise TargetNotEmpty(filled)
    return filled


def _prepare_target(connection: Connection, metadata: MetaData, *, replace: bool) -> list[str]:
    connection.execute(text("SET LOCAL statement_timeout = 0"))
    connection.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    tables = metadata.sorted_tables
    names = ", ".join(connection.dialect.identifier_preparer.format_table(t) for t in tables)
    # Nobody writes to the target while it is checked and filled.
    connection.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
    filled = nonempty_tables(connection, tables)
    if filled and not replace:
        raise TargetNotEmpty(filled)
    if filled:
        connection.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY"))
    return filled


def _reset_sequences(connection: Connection, metadata: MetaData) -> None:
    """Each id sequence continues after the largest copied id. ALTER SEQUENCE ... RESTART is
    transactional (unlike setval), so a rolled-back copy leaves the sequences as they were."""
    preparer = connection.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = connection.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": preparer.format_table(table), "column": column.name},
        )
        if sequence is None:
            continue
        largest = connection.scalar(select(func.max(column)))
        next_id = int(largest) + 1 if largest is not None else 1
        # `sequence` comes quoted from pg_get_serial_sequence; `next_id` is an int.
        connection.execute(text(f"ALTER SEQUENCE {sequence} RESTART WITH {next_id}"))


def _problems_error(problems: list[ConversionProblem]) -> SourceProblem:
    shown = "\n".join(f"  - {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return SourceProblem(
        f"{len(problems)} source rows cannot be stored in PostgreSQL:\n{shown}{tail}"
    )


class _Copier:
    def __init__(
        self,
        source: Connection,
        target: Connection | None,
        *,
        batch_size: int,
        reporter: Reporter,
    ) -> None:
        self.source = source
        self.target = target
        self.batch_size = batch_size
        self.reporter = reporter
        self.problems: list[ConversionProblem] = []
        # Dry runs fingerprint the converted rows too: the conversion must change no value.
        self.converted: dict[str, TableFingerprint] = {}

    def copy_table(self, table: Table) -> TableFingerprint:
        """Reads the table in primary-key order, batch by batch; converts each batch and (with a
        target) inserts it. Returns the fingerprint of the rows as read from the source."""
        with _source_errors(table):
            total = self.source.scalar(select(func.count()).select_from(table)) or 0
        self.reporter.table_progress(table.name, 0, total)
        read, converted = TableDigest(table), TableDigest(table)
        converter = RowConverter(table)
        statement = insert(table)
        keys = [column.key for column in table.columns]
        done = 0
        for batch in self._batches(table):
            read.add_many(batch)
            rows = converter.convert(batch, self.problems)
            if self.target is None:
                converted.add_many([row[key] for key in keys] for row in rows)
            elif self.problems:
                raise _problems_error(self.problems)  # a dry run goes on, to list them all
            elif rows:
                self.target.execute(statement, rows)
            done += len(batch)
            self.reporter.table_progress(table.name, done, total)
        if self.target is None:
            self.converted[table.name] = converted.result()
        return read.result()

    def _batches(self, table: Table) -> Iterator[list[Any]]:
        with _source_errors(table):
            result = self.source.execute(
                select(table).order_by(*table.primary_key.columns),
                execution_options={"yield_per": self.batch_size},
            )
            for partition in result.partitions():
                yield list(partition)


@contextmanager
def _source_errors(table: Table) -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        raise SourceProblem(f"cannot read {table.name} from the source: {exc.orig}") from None
    except (LookupError, ValueError) as exc:
        # An enum label, timestamp or JSON text that the column type cannot read.
        raise SourceProblem(f"{table.name}: unreadable value in the source: {exc}") from None


@contextmanager
def _target_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except TransferError:
        raise
    except DBAPIError as exc:
        raise CopyFailed(f"{doing} failed, the target is unchanged: {exc.orig}") from None
    except (SQLAlchemyError, CommandError) as exc:
        raise CopyFailed(f"{doing} failed, the target is unchanged: {exc}") from None


def migrate_sqlite_to_postgres(
    source: str,
    target_url: str | None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    replace: bool = False,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    metadata: MetaData = Base.metadata,
) -> TransferReport:
    """Copy every table of the SQLite database `source` (a path or `sqlite:///` URL) into the
    PostgreSQL database `target_url`, verified, in one transaction. With `dry_run` the source
    is read and converted in full, the target (optional) only checked, and nothing written."""
    if batch_size < 1:
        raise UsageProblem("the batch size must be at least 1")
    if target_url is None and not dry_run:
        raise UsageProblem("a TARGET PostgreSQL URL is required (except with --dry-run)")
    reporter = reporter or SilentReporter()
    started = time.monotonic()
    source_engine = open_source(source)
    target_engine = open_target(target_url) if target_url is not None else None
    try:
        with source_engine.connect() as source_connection:
            check_source(source_connection, metadata)
            if dry_run:
                replaced = _dry_run_target(
                    target_engine, metadata, replace=replace, reporter=reporter
                )
                tables = _dry_run_copy(source_connection, metadata, batch_size, reporter)
                return TransferReport(tables, time.monotonic() - started, True, replaced)
            assert target_engine is not None
            with _target_errors("checking the target"):
                check_target(target_engine, metadata, replace=replace)
            reporter.step(f"migrating the target schema to {migrate.head_revision()}")
            with _target_errors("migrating the target"):
                migrate.upgrade(target_engine)
            with _target_errors("the copy"):
                tables, replaced = _copy(
                    source_connection, target_engine, metadata, batch_size, replace, reporter
                )
        return TransferReport(tables, time.monotonic() - started, False, replaced)
    finally:
        source_engine.dispose()
        if target_engine is not None:
            target_engine.dispose()


def _dry_run_target(
    engine: Engine | None, metadata: MetaData, *, replace: bool, reporter: Reporter
) -> list[str]:
    if engine is None:
        return []
    with _target_errors("checking the target"):
        filled = check_target(engine, metadata, replace=replace)
        revision = migrate.current_revision(engine)
    reporter.step(
        f"target at revision {revision or 'none (empty database)'}; "
        + (f"--replace would delete the rows in {', '.join(filled)}" if filled else "it is empty")
    )
    return filled


def _dry_run_copy(
    source: Connection, metadata: MetaData, batch_size: int, reporter: Reporter
) -> dict[str, TableFingerprint]:
    copier = _Copier(source, None, batch_size=batch_size, reporter=reporter)
    tables = {table.name: copier.copy_table(table) for table in metadata.sorted_tables}
    if copier.problems:
        raise _problems_error(copier.problems)
    reporter.step("verifying the conversion")
    differences = compare(tables, copier.converted)
    if differences:
        raise VerificationFailed(differences)
    return tables


def _copy(
    source: Connection,
    target_engine: Engine,
    metadata: MetaData,
    batch_size: int,
    replace: bool,
    reporter: Reporter,
) -> tuple[dict[str, TableFingerprint], list[str]]:
    with target_engine.connect() as target, target.begin():
        replaced = _prepare_target(target, metadata, replace=replace)
        if replaced:
            reporter.step(
                f"replacing the rows in {', '.join(replaced)} (the deletion commits only "
                "with the copy)"
            )
        copier = _Copier(source, target, batch_size=batch_size, reporter=reporter)
        expected = {table.name: copier.copy_table(table) for table in metadata.sorted_tables}
        _reset_sequences(target, metadata)
        reporter.step("verifying the copy")
        differences = compare(expected, fingerprint(target, metadata, batch_size=batch_size))
        if differences:
            raise VerificationFailed(differences)  # leaving the block rolls everything back
        reporter.step("committing")
    return expected, replaced
