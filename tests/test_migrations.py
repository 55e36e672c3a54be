"""Alembic migrations are the only source of schema: migrated databases match the models,
migrations run down and up again, and replicas starting at once migrate exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, inspect, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from harness.postgres import PostgresCluster
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.models import Base
from signupflow.scheduling.models import ScheduleStatus
from tests.support.settings import BACKEND, make_settings

CONCURRENT_REPLICAS = 6
SIGNUPFLOW = Path(sys.executable).with_name("signupflow")


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if BACKEND == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database(f"migrations_{uuid.uuid4().hex[:12]}")
    return f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = make_engine(make_settings(fresh_database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def postgresql_url(fresh_database_url: str) -> str:
    if BACKEND != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no advisory locks and one writer at a time")
    return fresh_database_url


def schema_differences(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_migrated_database_matches_the_models(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert schema_differences(engine) == []


def test_schema_comparison_notices_what_the_migrations_lack(engine: Engine) -> None:
    migrate.upgrade(engine)
    models = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(models)
    models.tables["events"].append_column(Column("dress_code", String(40), nullable=True))
    models.tables["organisations"].c.name.type = String(120)

    differences = schema_differences(engine, models)

    kinds = [diff[0] if isinstance(diff, tuple) else diff[0][0] for diff in differences]
    assert sorted(kinds) == ["add_column", "modify_type"]


def test_upgrade_leaves_one_waiting_solver_run_per_organisation(engine: Engine) -> None:
    # Before 0005 an organisation could have several queued or running runs; the index that
    # allows one needs the others settled first: the oldest (the next a worker takes) stays.
    migrate.upgrade(engine, "0004")
    organisations = Base.metadata.tables["organisations"]
    schedules = Base.metadata.tables["schedules"]
    now = datetime.now(UTC)
    with engine.begin() as connection:
        org = connection.execute(
            organisations.insert()
            .values(slug="busy", name="Busy", timezone="UTC", locale="en")
            .returning(organisations.c.id)
        ).scalar_one()

        def run(status: ScheduleStatus) -> int:
            row = schedules.insert().values(
                organisation_id=org,
                starts_at=now,
                ends_at=now + timedelta(days=1),
                status=status,
                report={},
            )
            return int(connection.execute(row.returning(schedules.c.id)).scalar_one())

        oldest, newer, running, draft = (
            run(ScheduleStatus.QUEUED),
            run(ScheduleStatus.QUEUED),
            run(ScheduleStatus.RUNNING),
            run(ScheduleStatus.DRAFT),
        )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        statuses = dict(connection.execute(select(schedules.c.id, schedules.c.status)).all())
    assert statuses == {
        oldest: ScheduleStatus.QUEUED,
        newer: ScheduleStatus.FAILED,
        running: ScheduleStatus.FAILED,
        draft: ScheduleStatus.DRAFT,
    }


def test_downgrade_to_base_and_upgrade_again_rebuilds_the_same_schema(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert table_names(engine) == {"alembic_version"}

    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert schema_differences(engine) == []


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def advisory_lock_waiters(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return int(row[0]) if row else 0


def test_concurrent_upgrades_of_an_empty_database_migrate_exactly_once(
    postgresql_url: str, tmp_path: Path
) -> None:
    """Six replicas run `signupflow db upgrade` at once. The test holds the migration lock
    until all six are queued on it, so they really contend rather than happen to run in turn."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": postgresql_url}
    with psycopg.connect(libpq(postgresql_url), autocommit=True) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", (migrate.ADVISORY_LOCK_KEY,))
        replicas = [
            subprocess.Popen(
                [str(SIGNUPFLOW), "db", "upgrade"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(CONCURRENT_REPLICAS)
        ]
        try:
            deadline = time.monotonic() + 60
            while advisory_lock_waiters(gate) < CONCURRENT_REPLICAS:
                assert all(r.poll() is None for r in replicas), "a replica exited early"
                assert time.monotonic() < deadline, "the replicas never queued on the lock"
                time.sleep(0.05)
            gate.execute("SELECT pg_advisory_unlock(%s)", (migrate.ADVISORY_LOCK_KEY,))
            outcomes = [replica.communicate(timeout=120) for replica in replicas]
        finally:
            for replica in replicas:
                if replica.poll() is None:
                    replica.kill()
                    replica.communicate()

    head = migrate.head_revision()
    for replica, (stdout, stderr) in zip(replicas, outcomes, strict=True):
        assert replica.returncode == 0, stderr
        assert stdout.strip() == f"database at revision {head}"
    engine = make_engine(make_settings(postgresql_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [row.version_num for row in rows] == [head]
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_replica_waits_for_a_migration_longer_than_the_statement_timeout(
    postgresql_url: str,
) -> None:
    """Another replica's migration may run longer than a request may: the waiting replica
    must neither give up nor keep the lifted limit on the pooled connection it returns."""
    timeout_ms = 200
    engine = make_engine(
        make_settings(
            postgresql_url, db_statement_timeout_ms=timeout_ms, db_pool_size=1, db_max_overflow=0
        )
    )
    try:
        with psycopg.connect(libpq(postgresql_url), autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (migrate.ADVISORY_LOCK_KEY,))
            with ThreadPoolExecutor(1) as pool:
                upgrading = pool.submit(migrate.upgrade, engine)
                deadline = time.monotonic() + 30
                while advisory_lock_waiters(holder) == 0:
                    assert not upgrading.done(), upgrading.exception()
                    assert time.monotonic() < deadline, "upgrade never waited for the lock"
                    time.sleep(0.02)
                # The waiter has to outlast its statement timeout before the lock is released.
                time.sleep(5 * timeout_ms / 1000)
                assert not upgrading.done(), upgrading.exception()
                holder.execute("SELECT pg_advisory_unlock(%s)", (migrate.ADVISORY_LOCK_KEY,))
                upgrading.result(timeout=60)

        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as connection:
            assert connection.scalar(text("SHOW statement_timeout")) == f"{timeout_ms}ms"
            assert connection.scalar(text("SHOW lock_timeout")) == "0"
    finally:
        engine.dispose()


def test_migration_waiting_for_a_busy_table_gives_up_after_the_lock_timeout(
    postgresql_url: str,
) -> None:
    """An ALTER waiting for a table's lock queues every later query on that table behind it:
    the migration gives up after migrate.LOCK_TIMEOUT instead, and succeeds when re-run."""
    engine = make_engine(make_settings(postgresql_url))
    try:
        migrate.upgrade(engine, "0002")
        with psycopg.connect(libpq(postgresql_url)) as reader:
            reader.execute("SELECT count(*) FROM events")  # a long read: its lock stays held
            started = time.monotonic()
            with pytest.raises(OperationalError, match="lock timeout"):
                migrate.upgrade(engine)  # 0003 alters events
            waited = time.monotonic() - started
            reader.rollback()
        assert 5 <= waited < 30, waited
        assert migrate.current_revision(engine) == "0002"

        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_failed_migration_raises_its_own_error_and_releases_the_lock(
    postgresql_url: str,
) -> None:
    engine = make_engine(make_settings(postgresql_url))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE users (id integer PRIMARY KEY)"))

        with pytest.raises(ProgrammingError, match='relation "users" already exists'):
            migrate.upgrade(engine)

        assert table_names(engine) == {"users"}
        # Asked from outside the engine: its pooled connection would be granted its own lock.
        with psycopg.connect(libpq(postgresql_url), autocommit=True) as observer:
            row = observer.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            ).fetchone()
        assert row == (0,)
    finally:
        engine.dispose()


def test_concurrent_sqlite_upgrades_of_a_fresh_file_migrate_once(tmp_path):
    """Several workers starting on one new SQLite file must not race to create the schema."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    script = (
        "import sys; from sqlalchemy import create_engine; "
        "from signupflow.db.migrate import upgrade; upgrade(create_engine(sys.argv[1]))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1].decode()) for p in processes]
    assert [code for code, _ in results] == [0] * 6, results
