"""Readiness and schema versions during a rolling deploy (expand, then contract): a replica of
the running release stays ready after the next release migrated the database first, but a
replica whose database is behind it is not ready."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from signupflow.app import create_app
from signupflow.db.migrate import head_revision, schema_is_compatible
from tests.support.settings import make_settings


def test_schema_compatibility_accepts_head_and_newer_but_not_behind():
    assert schema_is_compatible(head_revision())
    assert schema_is_compatible("9999_from_a_newer_release")
    assert not schema_is_compatible(None)


def _set_revision(url: str, revision: str | None) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        if revision is not None:
            connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision}
            )
    engine.dispose()


def test_readiness_follows_the_schema_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    settings = make_settings(url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/ready").status_code == 200
        _set_revision(url, "9999_from_a_newer_release")
        assert client.get("/health/ready").status_code == 200
        _set_revision(url, None)
        behind = client.get("/health/ready")
        assert behind.status_code == 503
        assert "behind" in behind.json()["reasons"][0]
