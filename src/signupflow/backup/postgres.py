"""pg_dump and pg_restore, driven without putting a password on any command line."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import URL, Connection, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from signupflow.backup.errors import DatabaseFailure
from signupflow.db.engine import normalise_url

PG_BIN_CANDIDATES = [Path(f"/usr/lib/postgresql/{v}/bin") for v in (17, 16, 15)]
TOOL_TIMEOUT_S = 6 * 3600


def pg_tool(name: str) -> str:
    """pg_dump/pg_restore: PG_BIN_DIR, else the newest Debian install, else PATH."""
    override = os.environ.get("PG_BIN_DIR")
    candidates = [Path(override)] if override else PG_BIN_CANDIDATES
    for directory in candidates:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise DatabaseFailure(f"{name} not found; install postgresql-client or set PG_BIN_DIR")
    return found


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database addressed by a SQLAlchemy URL (password kept out of argv)."""

    url: URL

    @classmethod
    def from_url(cls, raw: str) -> Database:
        url = make_url(normalise_url(raw))
        if url.get_backend_name() != "postgresql":
            raise DatabaseFailure("backups need a PostgreSQL DATABASE_URL")
        return cls(url)

    @property
    def name(self) -> str:
        return self.url.database or ""

    def sibling(self, name: str) -> Database:
        return Database(self.url.set(database=name))

    def libpq_url(self) -> str:
        """A libpq URL without the password (that goes in PGPASSWORD)."""
        return self.url.set(drivername="postgresql", password=None).render_as_string(
            hide_password=False
        )

    def tool_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.url.password is not None:
            env["PGPASSWORD"] = str(self.url.password)
        return env

    def engine(self) -> Engine:
        return create_engine(self.url, poolclass=NullPool)

    def _maintenance(self) -> psycopg.Connection[tuple[object, ...]]:
        admin = self.url.set(drivername="postgresql", database="postgres")
        try:
            return psycopg.connect(
                admin.render_as_string(hide_password=False), autocommit=True, connect_timeout=10
            )
        except psycopg.Error as exc:
            raise DatabaseFailure(f"cannot connect to the server of {self.name}: {exc}") from exc

    def exists(self) -> bool:
        with self._maintenance() as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name])
            return row.fetchone() is not None

    def create(self) -> None:
        with self._maintenance() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        with self._maintenance() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


def run_tool(args: list[str], database: Database, what: str) -> str:
    """Run a PostgreSQL client tool; its standard output."""
    try:
        result = subprocess.run(  # noqa: S603 (fixed tool, arguments built here)
            args,
            env=database.tool_env(),
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DatabaseFailure(f"{what} failed: {exc}") from exc
    if result.returncode != 0:
        raise DatabaseFailure(f"{what} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout


@contextmanager
def snapshot(database: Database) -> Iterator[tuple[Connection, str]]:
    """A read-only REPEATABLE READ transaction and its exported snapshot id, so pg_dump
    (`--snapshot`) and the fingerprint read exactly the same data."""
    engine = database.engine()
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                snapshot_id = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
                yield connection, str(snapshot_id)
    finally:
        engine.dispose()


def dump(database: Database, destination: Path, *, snapshot_id: str) -> None:
    run_tool(
        [
            pg_tool("pg_dump"),
            "--format=custom",
            "--compress=6",
            "--no-owner",
            "--no-privileges",
            f"--snapshot={snapshot_id}",
            f"--file={destination}",
            f"--dbname={database.libpq_url()}",
        ],
        database,
        "pg_dump",
    )


def restore(database: Database, source: Path, *, clean: bool) -> None:
    """All or nothing: one transaction, stopping at the first error."""
    args = [
        pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={database.libpq_url()}",
    ]
    if clean:
        args += ["--clean", "--if-exists"]
    run_tool([*args, str(source)], database, "pg_restore")


def dumped_tables(database: Database, source: Path) -> set[str]:
    """The tables whose rows a custom-format archive holds, read by `pg_restore --list` (which
    reads the archive's whole table of contents and refuses a damaged one)."""
    listing = run_tool(
        [pg_tool("pg_restore"), "--list", str(source)], database, "pg_restore --list"
    )
    tables = set()
    for line in listing.splitlines():
        # "215; 0 16410 TABLE DATA public people signupflow"
        if line.startswith(";") or " TABLE DATA " not in line:
            continue
        parts = line.split(" TABLE DATA ", 1)[1].split()
        if len(parts) >= 2:
            tables.add(parts[1])
    return tables
