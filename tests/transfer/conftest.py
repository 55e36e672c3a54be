"""The SQLite → PostgreSQL copy needs both backends whatever TEST_DATABASE says, so its tests
run once, in the PostgreSQL pass (each module skips otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from harness.postgres import PostgresCluster


@pytest.fixture
def target_url(pg_cluster: PostgresCluster) -> str:
    """A new, empty PostgreSQL database (no schema yet)."""
    return pg_cluster.create_database(f"transfer_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def target(target_url: str) -> Iterator[Engine]:
    engine = create_engine(target_url, poolclass=NullPool)
    yield engine
    engine.dispose()
