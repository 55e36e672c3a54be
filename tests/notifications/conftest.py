from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.notifications.mail import Mail
from tests.support.services import started_smtp
from tests.support.settings import make_settings
from tests.support.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from started_smtp()


@pytest.fixture
def mail(smtp: SmtpServer, app: FastAPI, client: TestClient, database_url: str) -> Mail:
    settings = make_settings(database_url, **smtp.settings, public_url="https://app.example.org")
    return Mail(smtp, settings, app.state.session_factory)
