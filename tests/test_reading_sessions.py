"""A GET's unit of work only reads, each statement on its own (db/session.py,
`make_reading_session_factory`): on PostgreSQL it sends no BEGIN and no COMMIT, which a
write's unit of work still sends; and anything but a SELECT through it is refused, with
nothing written. That every GET route keeps to it is shown by the whole API suite, which
runs every route's reads through such sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from signupflow.db.session import WriteInARead
from signupflow.organisations.models import Organisation
from tests.factories import Org, add_event, new_org, ok
from tests.support.libpq_trace import sent_messages
from tests.support.settings import BACKEND


@pytest.fixture
def org(client: TestClient) -> Org:
    return new_org(client)


@pytest.fixture
def reading(client: TestClient) -> sessionmaker[Session]:
    made: sessionmaker[Session] = client.app.state.reading_session_factory  # type: ignore[attr-defined]
    return made


def test_a_reading_session_reads(reading: sessionmaker[Session], org: Org) -> None:
    with reading() as session:
        name = session.scalar(select(Organisation.name).where(Organisation.id == org.id))
        session.commit()
    assert name


def test_a_reading_session_refuses_to_write_and_writes_nothing(
    reading: sessionmaker[Session], org: Org
) -> None:
    with reading() as session:
        before = session.scalar(select(Organisation.name).where(Organisation.id == org.id))
        with pytest.raises(WriteInARead, match="UPDATE"):
            session.execute(
                update(Organisation).where(Organisation.id == org.id).values(name="Changed")
            )
        held = session.get(Organisation, org.id)
        assert held is not None
        held.name = "Changed through the unit of work"
        with pytest.raises(WriteInARead):
            session.flush()
        session.rollback()
    with reading() as session:
        after = session.scalar(select(Organisation.name).where(Organisation.id == org.id))
        assert session.scalar(select(func.count()).select_from(Organisation)) >= 1
    assert after == before


@contextmanager
def _traced(client: TestClient, directory: Path) -> Iterator[list[str]]:
    """What every connection the app checks out sends in the block, from libpq's own trace:
    each message's type, and a simple query's text (BEGIN, COMMIT) after it."""
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    traces: dict[int, tuple[Path, TextIO]] = {}

    def trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        path = directory / f"trace-{len(traces)}"
        sink = path.open("w")
        traces[id(dbapi_connection)] = (path, sink)
        dbapi_connection.pgconn.trace(sink.fileno())

    def untrace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.pgconn.untrace()
        traces[id(dbapi_connection)][1].close()

    event.listen(engine, "checkout", trace)
    event.listen(engine, "checkin", untrace)
    sent: list[str] = []
    try:
        yield sent
    finally:
        event.remove(engine, "checkout", trace)
        event.remove(engine, "checkin", untrace)
    for path, _sink in traces.values():
        for message, text in sent_messages(path):
            sent.append(message)
            if message == "Query":
                sent.append(text.strip('"').split()[0])  # BEGIN ISOLATION LEVEL ...


@pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite's driver sends no BEGIN for a read in any case"
)
def test_a_get_sends_no_begin_or_commit_and_a_write_does(
    client: TestClient, org: Org, tmp_path: Path
) -> None:
    add_event(org)
    with _traced(client, tmp_path) as reads:
        ok(org.get("/api/v1/events"))
        ok(org.get("/api/v1/people"))
    with _traced(client, tmp_path) as writes:
        add_event(org)
    assert reads.count("Parse") + reads.count("Bind") >= 4, reads  # the statements ran
    assert not {"BEGIN", "COMMIT"} & set(reads), reads
    assert {"BEGIN", "COMMIT"} <= set(writes), writes
