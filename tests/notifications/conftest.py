from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from signupflow.db.session import unit_of_work
from signupflow.notifications.models import Notification
from signupflow.settings import Settings
from signupflow.worker.runner import Worker
from tests.conftest import make_settings
from tests.support.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@dataclass
class Mail:
    """The test database's outbox, sent by a real worker to a real SMTP server."""

    server: SmtpServer
    settings: Settings
    factory: sessionmaker[Session]

    def worker(self) -> Worker:
        return Worker(self.settings, self.factory)

    def run(self) -> int:
        return self.worker().run_once()

    def make_due(self, *ids: int) -> None:
        with unit_of_work(self.factory) as session:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(ids))
                .values(next_attempt_at=datetime.now(UTC))
            )


@pytest.fixture
def mail(smtp: SmtpServer, app: FastAPI, client: TestClient, database_url: str) -> Mail:
    settings = make_settings(database_url, **smtp.settings, public_url="https://app.example.org")
    return Mail(smtp, settings, app.state.session_factory)
