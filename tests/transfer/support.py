"""What the transfer tests share: the PostgreSQL-pass marker, `signupflow db migrate-sqlite`
run as a command, and the engines and fingerprints the copies are compared by."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.pool import NullPool

from signupflow.db.fingerprint import TableFingerprint, fingerprint
from signupflow.db.models import Base
from tests.support.settings import BACKEND

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
