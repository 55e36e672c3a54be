"""The one unit of work: a request's session commits when the route returns, rolls back if
it raises. Services only flush. A write that lost a race to a concurrent request (a unique
key taken, a row changed or deleted since it was read) is answered as the domain error it
means (db/conflicts.py), not as a failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from signupflow.db.conflicts import meaning_of
from signupflow.errors import DomainError
from signupflow.organisations.data_versions import track_data_versions


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = _sessions_of(engine)
    track_data_versions(factory)  # every write path's sessions come from here
    return factory


def make_reading_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read (GET and HEAD): each statement commits on its
    own (AUTOCOMMIT), so a read sends no BEGIN and no COMMIT. On PostgreSQL those were two of
    a list's five round trips (docs/benchmarks.md). Reads lose nothing by it: at READ
    COMMITTED, PostgreSQL's level here, each statement of a transaction sees the commits made
    before it began, not one snapshot for all (conditional.py's weak tags rest on that), and
    SQLite's driver never began a transaction for a SELECT. A statement that is no SELECT is
    refused (`WriteInARead`): it would commit on its own, with no data version to tell
    readers (organisations/data_versions.py)."""
    reading = engine.execution_options(isolation_level="AUTOCOMMIT")
    event.listen(reading, "before_cursor_execute", _refuse_writes)
    return _sessions_of(reading)


def _sessions_of(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: responses are serialised after the commit, from loaded objects.
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


class WriteInARead(RuntimeError):
    """A request that only reads (a GET) tried to change data: a defect, answered 500."""


def _refuse_writes(
    _connection: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        raise WriteInARead(f"a read tried to run: {statement.split(None, 1)[0]} ...")


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    with finishing(factory()) as session:
        yield session


@contextmanager
def finishing(session: Session) -> Iterator[Session]:
    """The block's work on `session`, then `finish` with its outcome."""
    try:
        yield session
    except BaseException as exc:
        finish(session, exc)
        raise
    finish(session, None)


FINISHED = "signupflow.finished"  # session.info key: the unit of work has ended


def finished(session: Session) -> bool:
    """Whether `finish` has ended this session's unit of work (it reads no database)."""
    return bool(session.info.get(FINISHED))


def finish(session: Session, error: BaseException | None) -> None:
    """End the unit of work: commit when the work succeeded (or failed with a domain error that
    keeps its changes), roll back otherwise, close the session. A lost race is raised as the
    domain error it means; `error` itself is the caller's to raise."""
    session.info[FINISHED] = True
    try:
        if error is None or (isinstance(error, DomainError) and error.keeps_changes):
            session.commit()
        else:
            session.rollback()
    except (IntegrityError, StaleDataError) as exc:
        session.rollback()
        meaning = meaning_of(exc)
        if meaning is None:
            raise
        raise meaning from exc
    finally:
        session.close()
    if isinstance(error, (IntegrityError, StaleDataError)):
        meaning = meaning_of(error)
        if meaning is not None:
            raise meaning from error
