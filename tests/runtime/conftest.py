"""Runtime tests: real `signupflow serve` processes in the production profile, against a real
PostgreSQL cluster and a real Redis that these tests stop and start (so they own both)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.app_server import AppServer, migrate, production_env, start_server
from harness.postgres import PostgresCluster
from tests.support.redis_server import RedisServer
from tests.support.services import started_cluster, started_redis


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PostgresCluster]:
    """Owned by the module: these tests stop and start it."""
    yield from started_cluster()


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    yield from started_redis()


@pytest.fixture
def prod_env(own_pg: PostgresCluster, own_redis: RedisServer, request: pytest.FixtureRequest):
    if own_pg.data_dir.exists() and not _running(own_pg):
        own_pg.start()
    if own_redis.process is None:
        own_redis.start()
    own_redis.flush()  # each test has a fresh database, so user ids (and limit keys) repeat
    database = own_pg.create_database(
        f"rt_{request.node.name[:40].lower()}".replace("[", "_").replace("]", "_").replace("-", "_")
    )
    env = production_env(database, own_redis.url)
    migrate(env)
    return env


def _running(cluster: PostgresCluster) -> bool:
    return (cluster.data_dir / "postmaster.pid").exists()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator:
    started: list[AppServer] = []

    def _launch(env: dict[str, str], **kwargs) -> AppServer:
        app = start_server(env, tmp_path / f"server-{len(started)}.log", **kwargs)
        started.append(app)
        app.wait_ready()
        return app

    yield _launch
    for app in started:
        app.stop()
