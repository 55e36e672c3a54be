from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from signupflow.app import create_app
from signupflow.db.fingerprint import compare
from signupflow.db.migrate import current_revision, head_revision
from signupflow.db.models import Base
from tests.factories import add_event, add_person, ok
from tests.support.settings import make_settings
from tests.transfer.sources import (
    EMOJI,
    NESTED_CHANGES,
    RTL,
    VERY_LONG_TEXT,
    build_rich_source,
    views,
)
from tests.transfer.support import (
    POSTGRESQL_PASS_ONLY,
    fingerprints_of,
    migrate_sqlite,
    sqlite_engine,
)

pytestmark = POSTGRESQL_PASS_ONLY


def test_a_database_touching_every_table_arrives_identical_and_reads_back_the_same(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    source = build_rich_source(tmp_path / "signupflow.db")
    expected = fingerprints_of(sqlite_engine(source.path))
    assert all(table.rows > 0 for table in expected.values()), expected

    result = migrate_sqlite(
        f"sqlite:///{source.path}", "--target-file", _url_file(tmp_path, target_url)
    )
    assert result.returncode == 0, result.stderr
    assert "copied and verified" in result.stdout

    assert current_revision(target) == head_revision()
    assert compare(expected, fingerprints_of(target)) == []
    tables = Base.metadata.tables
    with target.connect() as connection:
        audit = tables["audit_log"]
        imported = connection.scalar(select(audit.c.changes).where(audit.c.action == "import"))
        assert imported == NESTED_CHANGES
        events = tables["events"]
        assert VERY_LONG_TEXT in connection.scalars(select(events.c.description)).all()
        names = set(connection.scalars(select(tables["people"].c.name)))
        assert {EMOJI, RTL} <= names
        assert set(connection.scalars(select(tables["people"].c.active))) == {True, False}

    app = create_app(make_settings(target_url))
    with TestClient(app, raise_server_exceptions=True) as client:
        orgs = [dataclasses.replace(org, client=client) for org in source.orgs]
        # Same ids, same tokens (same users and token versions), same answers.
        assert len(source.views) > 50
        assert views(orgs) == source.views

        london = orgs[0]
        with target.connect() as connection:
            largest = {
                name: connection.scalar(select(func.max(Base.metadata.tables[name].c.id)))
                for name in ("people", "events", "audit_log")
            }
        person = add_person(london, name="After the move")
        event = add_event(london)
        assert person["id"] == largest["people"] + 1
        assert event["id"] == largest["events"] + 1
        newest_audit = ok(london.get("/api/v1/audit?limit=1"))["items"][0]
        assert newest_audit["id"] > largest["audit_log"]


def _url_file(tmp_path: Path, url: str) -> str:
    path = tmp_path / "target-url"
    path.write_text(url + "\n")
    return str(path)
