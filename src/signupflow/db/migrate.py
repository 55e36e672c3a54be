"""Apply Alembic migrations safely: under a lock (PostgreSQL advisory lock; a file lock for
SQLite), so several replicas or workers starting at once migrate exactly once (the others
wait, then find nothing to do)."""

from __future__ import annotations

import fcntl
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary, fixed 64-bit key: "signupfl" in ASCII.
ADVISORY_LOCK_KEY = 0x7369676E7570666C
# What a migration's session runs before its first statement (after taking the migration lock,
# which it may wait for as long as it takes). No statement timeout: a backfill may rightly run
# long. A lock wait is bounded: an ALTER waiting for a table's lock holds every later query on
# that table in the queue behind it, so after LOCK_TIMEOUT the migration fails (re-run it)
# rather than stall traffic. 5 s is below the requests' 15 s statement timeout, so requests
# queued behind a waiting migration are delayed, never failed. The migration linter reads
# these to lint each revision's SQL as it runs.
LOCK_TIMEOUT = "5s"
MIGRATION_SESSION_SETTINGS = ("SET statement_timeout = 0", f"SET lock_timeout = '{LOCK_TIMEOUT}'")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    # Parsed once per process: readiness consults it every second.
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    # A plain query: readiness asks every second, and Alembic's context logs on each configure.
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def schema_is_compatible(revision: str | None) -> bool:
    """May this code serve a database at `revision`? Yes at the code's head, and also at a
    revision this code does not know: a newer release migrated first (expand, then contract,
    so the running version keeps working while the new one rolls out). No when the database
    is behind: a known, older revision, or none."""
    if revision is None:
        return False
    script = _scripts()
    try:
        known = script.get_revision(revision)
    except Exception:  # alembic raises several types for an unknown id
        return True
    return known is not None and revision == script.get_current_head()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """SQLite has no advisory locks: several worker processes starting on one fresh database
    file would each try to create the schema. An exclusive lock on a sibling file serialises
    them."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _migration_session(engine: Engine) -> Iterator[Connection]:
    """A connection holding the migration lock, free of the request statement timeout: a
    migration, and a replica waiting for another's, may rightly take longer than a request."""
    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine), engine.connect() as connection:
            yield connection
        return
    with engine.connect() as connection:
        connection.execute(text("SET statement_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        for setting in MIGRATION_SESSION_SETTINGS:
            connection.execute(text(setting))
        connection.commit()
        try:
            yield connection
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            # Back to the connection's own default: the engine may be the app's, and this
            # connection returns to its pool.
            connection.execute(text("RESET statement_timeout"))
            connection.execute(text("RESET lock_timeout"))
            connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migration_session(engine) as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    with _migration_session(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        connection.commit()
