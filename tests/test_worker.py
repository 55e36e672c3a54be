"""`signupflow worker` as operators run it: a real process, a real SMTP server, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from harness.ports import free_port
from harness.postgres import PostgresCluster
from signupflow.app import create_app
from signupflow.db.session import unit_of_work
from signupflow.notifications.models import Notification, NotificationKind, NotificationStatus
from tests.factories import new_org, ok, unique
from tests.support.services import started_smtp
from tests.support.settings import BACKEND, make_settings
from tests.support.smtp_server import SmtpServer

SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
SHUTDOWN_TIMEOUT_S = 15


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # Its own database: the worker must find only this test's notifications.
    if BACKEND == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database(f"worker_{uuid.uuid4().hex[:12]}")
    return f"sqlite:///{tmp_path / 'worker.db'}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from started_smtp()


def queue_invitation(database_url: str) -> tuple[str, object]:
    app = create_app(make_settings(database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        org = new_org(client)
        email = f"{unique('worker')}@example.org"
        ok(org.post("/api/v1/invitations", json={"email": email, "name": "W"}), 201)
    return email, app


def start_worker(
    database_url: str, smtp: SmtpServer, tmp_path: Path, *args: str
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "WORKER_POLL_INTERVAL_S": "0.2",
        "SHUTDOWN_TIMEOUT_S": str(SHUTDOWN_TIMEOUT_S),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
    }
    return subprocess.Popen(
        [str(SIGNUPFLOW), "worker", *args],
        env=env,
        cwd=tmp_path,  # no stray .env file
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def statuses(database_url: str) -> list[NotificationStatus]:
    """Of the invitations queued (the sign-up's own confirmation mail was already read)."""
    app = create_app(make_settings(database_url))
    with TestClient(app), unit_of_work(app.state.session_factory) as session:
        return list(
            session.scalars(
                select(Notification.status).where(Notification.kind == NotificationKind.INVITATION)
            )
        )


def test_sigterm_finishes_the_message_in_hand_and_exits_0(
    fresh_database_url: str, smtp: SmtpServer, tmp_path: Path
) -> None:
    email, _ = queue_invitation(fresh_database_url)
    smtp.handler.delay_s = 2.0  # SIGTERM arrives while the message is being sent
    worker = start_worker(fresh_database_url, smtp, tmp_path)
    try:
        assert smtp.handler.data_started.wait(60), "the worker never started sending"
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=SHUTDOWN_TIMEOUT_S + 5)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert time.monotonic() - signalled < SHUTDOWN_TIMEOUT_S
    assert len(smtp.handler.to(email)) == 1
    assert statuses(fresh_database_url) == [NotificationStatus.SENT]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert "notification sent" in messages
    assert messages[-1] == "worker stopped"
    assert email not in output


def test_metrics_count_sent_mail_and_the_queue(
    fresh_database_url: str, smtp: SmtpServer, tmp_path: Path
) -> None:
    email, _ = queue_invitation(fresh_database_url)
    port = free_port()
    worker = start_worker(fresh_database_url, smtp, tmp_path, "--metrics-port", str(port))
    try:
        deadline = time.monotonic() + 60
        while not smtp.handler.to(email):
            assert time.monotonic() < deadline, "nothing was sent"
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            time.sleep(0.1)
        time.sleep(0.5)  # the counter is incremented once the outcome is recorded
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'signupflow_notifications_sent_total{kind="invitation"} 1.0' in metrics
        assert "signupflow_notifications_queue_depth 0.0" in metrics
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=SHUTDOWN_TIMEOUT_S + 5)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
