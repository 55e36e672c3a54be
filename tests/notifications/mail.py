"""The outbox of the test database as the notification tests see it: sent by a real worker to
a real SMTP server, read back row by row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from signupflow.db.session import unit_of_work
from signupflow.notifications.models import Notification
from signupflow.settings import Settings
from signupflow.worker.runner import Worker
from tests.factories import new_org, ok, unique
from tests.support.smtp_server import SmtpServer

API = "/api/v1"


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


def rows(mail: Mail, organisation_id: int) -> list[Notification]:
    with unit_of_work(mail.factory) as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.organisation_id.in_([organisation_id]))
                .order_by(Notification.id)
            )
        )


def invite(client: TestClient, *, locale: str = "en") -> tuple[int, str, str]:
    org = new_org(client)
    ok(org.patch(f"{API}/organisation", json={"locale": locale}))
    email = f"{unique('guest')}@example.org"
    created = ok(org.post(f"{API}/invitations", json={"email": email, "name": "Ana"}), 201)
    return org.id, email, created["token"]
