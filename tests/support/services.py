"""The real services tests run against (PostgreSQL, Redis, SMTP), started for a fixture's
scope, and what a missing one means: outside CI a skip that says why, in CI a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.postgres import PostgresCluster, start_cluster
from tests.support.redis_server import RedisServer, start_redis
from tests.support.smtp_server import SmtpServer

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(reason: str) -> None:
    """Outside CI a missing service skips, saying why; in CI it fails."""
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


def started_cluster() -> Iterator[PostgresCluster]:
    """A fresh cluster for a fixture's scope, destroyed afterwards."""
    cluster = start_cluster()
    if cluster is None:
        require_service("PostgreSQL server binaries (initdb) are not installed")
    assert cluster is not None
    yield cluster
    cluster.destroy()


def started_redis(aclfile: Path | None = None) -> Iterator[RedisServer]:
    """A throwaway redis-server for a fixture's scope, stopped afterwards."""
    server = start_redis(aclfile)
    if server is None:
        require_service("redis-server is not installed")
    assert server is not None
    yield server
    server.stop()


def started_smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback (aiosmtpd) for a fixture's scope, stopped afterwards."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
