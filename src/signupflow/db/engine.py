"""Engines for SQLite (development) and PostgreSQL (production)."""

from __future__ import annotations

import json
import re
import select
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from signupflow.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 15_000  # writers queue on SQLite's single write lock instead of failing


# Any integer past 64 bits has 19 digits or more (so have some that fit: they go to json too).
_NINETEEN_DIGITS = re.compile("[0-9]{19}")


def json_column_loads(stored: str | bytes) -> Any:
    """A JSON column's value, read by orjson. Python's json read each value of a 200-person
    list's two JSON columns at 2.4 µs (orjson: 0.14 µs): 1.5 ms of the list's 9 ms on
    PostgreSQL where the columns hold JSON (docs/benchmarks.md, session 14). Values orjson
    would read otherwise are read by json, as before: NaN and infinities and lone surrogates
    (orjson refuses them), integers past 64 bits (orjson makes them floats)."""
    text = stored.decode() if isinstance(stored, bytes) else stored
    if _NINETEEN_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def normalise_url(raw: str) -> str:
    """Accept `postgres://` and bare `postgresql://` URLs; always drive them with psycopg 3."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw.removeprefix("postgresql://")
    return raw


def make_engine(settings: Settings) -> Engine:
    url = make_url(normalise_url(settings.database_url.get_secret_value()))
    both: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
        "json_deserializer": json_column_loads,
    }
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **both,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    engine = create_engine(
        url,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5, "options": options, "application_name": "signupflow"},
        **both,
    )
    event.listen(engine, "checkout", _replacing_closed(engine.dialect))
    return engine


def _replacing_closed(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    """A restarted or crashed server, or a terminated backend, leaves dead connections in the
    pool: each is checked before use. PostgreSQL says goodbye when it closes a connection (an
    error message, then end of file), so an idle connection with anything to read is pinged
    (the dialect's own ping, as `pool_pre_ping` sends it), and one that fails is replaced; one
    with nothing to read is used as it is. Pinging every one (`pool_pre_ping`) cost each
    request a round trip, 0.3 ms here (docs/benchmarks.md). What neither notices is a server
    that vanished without a word (a host lost with its network); a ping would then wait as
    long as the query does."""

    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed or _has_input(dbapi_connection.fileno()):
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError("the server closed this pooled connection") from exc

    return check


def _has_input(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
