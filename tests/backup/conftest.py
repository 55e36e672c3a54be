"""Backups need PostgreSQL (pg_dump/pg_restore), so those tests run in the
TEST_DATABASE=postgresql pass; retention and S3 tests need no database and run in both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from harness.ports import free_port
from harness.postgres import PostgresCluster
from signupflow.app import create_app
from signupflow.backup.archive import Backups
from tests.backup.services import Service, Start, Webhook, kill_all
from tests.backup.support import AgeKey, backup_settings, make_key, s3_client
from tests.factories import PASSWORD, add_event, add_person, invite_member, new_org, ok, unique
from tests.support.settings import make_settings
from tests.support.signup import signup_body

BUCKET = "signupflow-backups"


@pytest.fixture
def key(tmp_path: Path) -> AgeKey:
    return make_key(tmp_path / "keys")


@pytest.fixture
def seeded_url(pg_cluster: PostgresCluster) -> str:
    """A PostgreSQL database migrated and filled through the real API."""
    url = pg_cluster.create_database(f"backup_{uuid.uuid4().hex[:12]}")
    with TestClient(create_app(make_settings(url)), raise_server_exceptions=False) as client:
        for _ in range(2):
            org = new_org(client)
            for index in range(15):
                add_person(org, name=f"Volunteer {index}", roles=["usher", "reader"])
            for _ in range(4):
                add_event(org, slots=[{"role": "usher", "capacity": 3}])
            invite_member(org)
        email = f"{unique('pending')}@example.org"
        body = signup_body(unique("pending"), email, PASSWORD)
        ok(client.post("/api/v1/auth/signup", json=body), 202)  # never confirmed
    return url


@pytest.fixture
def backups(tmp_path: Path, key: AgeKey, seeded_url: str) -> Backups:
    return Backups(backup_settings(tmp_path / "backups", key), seeded_url)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    yield endpoint
    server.stop()


@pytest.fixture
def s3_settings(s3_endpoint: str) -> dict[str, object]:
    settings: dict[str, object] = {
        "backup_s3_bucket": f"{BUCKET}-{uuid.uuid4().hex[:8]}",
        "backup_s3_endpoint_url": s3_endpoint,
        "backup_s3_access_key_id": "test",  # moto accepts any credentials
        "backup_s3_secret_access_key": "test",
    }
    s3_client(settings).create_bucket(Bucket=str(settings["backup_s3_bucket"]))
    return settings


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Start]:
    started: list[Service] = []

    def start(env: dict[str, str], command: tuple[str, ...] = ("schedule",)) -> Service:
        service = Service(env, tmp_path, command)
        started.append(service)
        return service

    yield start
    kill_all(started)
