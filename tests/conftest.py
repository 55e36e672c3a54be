"""Test configuration. `TEST_DATABASE=sqlite|postgresql` picks the backend for the whole run;
`make test` runs the suite once for each. The schema is built by the real migrations.

Isolation: every test makes its own organisation(s), and tenancy scopes every query, so tests
assert exact results without sharing state, while commits stay real (several tests need real
concurrent transactions)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from harness.postgres import PostgresCluster
from harness.services import ServiceMissing
from signupflow.app import create_app
from signupflow.settings import Settings
from tests.support.live_server import served
from tests.support.services import require_service, started_cluster
from tests.support.settings import BACKEND, make_settings


# The harness (harness/) serves the benchmarks too, so it raises ServiceMissing instead of
# skipping; here it means what any other missing service means.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except ServiceMissing as missing:
        require_service(str(missing))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except ServiceMissing as missing:
        require_service(str(missing))


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
    with served(create_app(settings)) as url:
        yield url
