"""Pooled PostgreSQL connections the server has closed are never handed out: after every
backend of the pool is terminated (as a restart or an operator's `pg_terminate_backend`
does), the next units of work all succeed, on fresh connections, without a failed one first.
Connections the server left alone are used as they are: no round trip of their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, QueuePool, text

from signupflow.db.engine import make_engine
from signupflow.settings import Settings
from tests.support.libpq_trace import sent_messages
from tests.support.settings import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite has no server to close connections"
)
POOL = 4


def _backends(engine: Engine) -> list[int]:
    """Fill the pool, each connection saying its backend's pid, and return them all."""
    connections = [engine.connect() for _ in range(POOL)]
    try:
        return [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in connections]
    finally:
        for connection in connections:
            connection.close()


def test_terminated_backends_are_replaced_before_use(settings: Settings) -> None:
    engine = make_engine(settings.model_copy(update={"db_pool_size": POOL}))
    admin = make_engine(settings)
    try:
        before = _backends(engine)
        with admin.connect() as connection:
            terminated = connection.execute(
                # With a timeout the call returns once each backend has exited, its goodbye
                # sent: without one it returns on sending the signal, and a checkout a moment
                # later could find nothing to read yet (CI, session 15: one failed request).
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(p, 5000))"
                    " FROM unnest(CAST(:p AS int[])) p"
                ),
                {"p": before},
            ).scalar_one()
            assert terminated == POOL
            connection.commit()
        after = _backends(engine)  # each checkout finds its connection closed and replaces it
        assert not set(after) & set(before)
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.checkedin() == POOL
    finally:
        engine.dispose()
        admin.dispose()


def test_a_live_connection_is_used_without_a_ping(settings: Settings, tmp_path: Path) -> None:
    """libpq's own trace of the messages the connection sends: the unit of work's, no ping."""
    engine = make_engine(settings.model_copy(update={"db_pool_size": 1}))
    trace = tmp_path / "libpq.trace"
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 2")).scalar_one()
            pgconn = connection.connection.driver_connection.pgconn  # type: ignore[union-attr]
        with trace.open("w") as sink:
            pgconn.trace(sink.fileno())
            try:
                with engine.connect() as connection:
                    assert connection.execute(text("SELECT 3")).scalar_one() == 3
            finally:
                pgconn.untrace()
        sent = [text for _type, text in sent_messages(trace)]
        assert sent == ['"BEGIN"', '"SELECT 3"', '"ROLLBACK"'], sent
    finally:
        engine.dispose()
