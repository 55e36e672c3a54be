"""The SQLite → PostgreSQL copy needs both backends whatever TEST_DATABASE says, so its tests
run once, in the PostgreSQL pass (each module skips otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.pool import NullPool

from signupflow.db.fingerprint import TableFingerprint, fingerprint
from signupflow.db.models import Base
from tests.conftest import BACKEND
from tests.support.postgres import PostgresCluster

SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
POSTGRESQL_PASS_ONLY = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="needs SQLite and PostgreSQL together; runs in the TEST_DATABASE=postgresql pass",
)


def environment(**variables: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **variables}


def migrate_sqlite(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SIGNUPFLOW), "db", "migrate-sqlite", *args],
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def target_url(pg_cluster: PostgresCluster) -> str:
    """A new, empty PostgreSQL database (no schema yet)."""
    return pg_cluster.create_database(f"transfer_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def target(target_url: str) -> Iterator[Engine]:
    engine = create_engine(target_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def sqlite_engine(path: Path) -> Engine:
    return create_engine(f"sqlite:///{path}", poolclass=NullPool)


def fingerprints_of(engine: Engine) -> dict[str, TableFingerprint]:
    with engine.connect() as connection:
        return fingerprint(connection, Base.metadata)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }
