"""The one unit of work: a request's session commits when the route returns, rolls back if
it raises. Services only flush. A write that lost a race to a concurrent request (a unique
key taken, a row changed or deleted since it was read) is answered as the domain error it
means (db/conflicts.py), not as a failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from signupflow.db.conflicts import meaning_of
from signupflow.errors import DomainError
from signupflow.organisations.data_versions import track_data_versions


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: responses are serialised after the commit, from loaded objects.
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    track_data_versions(factory)  # every write path's sessions come from here
    return factory


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
