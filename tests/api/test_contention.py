"""When PostgreSQL aborts a transaction to resolve contention (a deadlock), the client gets a
retryable 503 that says so, and operators get an error naming it, not a "database down"."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from signupflow.db.engine import make_engine
from tests.support.settings import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="deadlock detection is PostgreSQL's; SQLite has one writer"
)
LOCK = "UPDATE contention_probe SET id = id WHERE id = :id"


def real_deadlock(settings) -> OperationalError:
    """Two transactions that each hold the row the other one wants: the server aborts one."""
    engine = make_engine(settings)
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE IF NOT EXISTS contention_probe (id int PRIMARY KEY)"))
        setup.execute(text("INSERT INTO contention_probe VALUES (1), (2) ON CONFLICT DO NOTHING"))
    first, second = engine.connect(), engine.connect()
    try:
        first.begin()
        second.begin()
        first.execute(text(LOCK), {"id": 1})
        second.execute(text(LOCK), {"id": 2})
        first_pid = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(first.execute, text(LOCK), {"id": 2})
            deadline = time.monotonic() + 20
            while not second.execute(
                text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"),
                {"pid": first_pid},
            ).scalar_one():
                assert time.monotonic() < deadline, "the first transaction never waited"
                time.sleep(0.02)
            try:
                second.execute(text(LOCK), {"id": 1})
            except OperationalError as exc:
                return exc
            failure = waiting.exception(timeout=30)
            assert isinstance(failure, OperationalError), failure
            return failure
    finally:
        first.close()
        second.close()
        engine.dispose()


def test_a_deadlock_is_answered_as_contention_to_retry(app, settings, caplog) -> None:
    aborted = real_deadlock(settings)
    assert aborted.orig.sqlstate == "40P01"
    handler = app.exception_handlers[OperationalError]
    with caplog.at_level(logging.WARNING, logger="signupflow.errors"):
        response = handler(None, aborted)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert b'"type":"/problems/contention"' in response.body
    assert "deadlock detected (SQLSTATE 40P01)" in caplog.text
    assert "unavailable" not in caplog.text
