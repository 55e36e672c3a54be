"""Test configuration. `TEST_DATABASE=sqlite|postgresql` picks the backend for the whole run;
`make test` runs the suite once for each. The schema is built by the real migrations.

Isolation: every test makes its own organisation(s), and tenancy scopes every query, so tests
assert exact results without sharing state, while commits stay real (several tests need real
concurrent transactions)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from signupflow.app import create_app
from signupflow.settings import Settings
from tests.support.postgres import PostgresCluster, start_cluster
from tests.support.redis_server import RedisServer, start_redis
from tests.support.smtp_server import SmtpServer

IN_CI = os.environ.get("CI", "").lower() == "true"
BACKEND = os.environ.get("TEST_DATABASE", "sqlite")


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


def started_redis() -> Iterator[RedisServer]:
    """A throwaway redis-server for a fixture's scope, stopped afterwards."""
    server = start_redis()
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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    yield from started_cluster()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if BACKEND == "postgresql":
        external = os.environ.get("TEST_POSTGRES_URL")
        if external:
            return external
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database("signupflow_test")
    if BACKEND != "sqlite":
        pytest.fail(f"unknown TEST_DATABASE={BACKEND!r}; use sqlite or postgresql")
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'signupflow.db'}"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": database_url,
        "bcrypt_rounds": 4,
        "load_demo": False,
        "auto_migrate": True,
        "db_pool_size": 20,
        "db_max_overflow": 20,
        # Every test signs up and accepts invitations from the one test client's address, and
        # some solve one organisation's draft again and again; the limits themselves are
        # tested with their own settings.
        "signup_requests_per_minute": 10_000,
        "login_attempts_per_minute": 1_000,
        "org_solves_per_minute": 10_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def live_url(settings: Settings) -> Iterator[str]:
    """A real Uvicorn server (in a thread) on the test database, for concurrency tests."""
    import threading
    import time

    import uvicorn

    from tests.support.postgres import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
