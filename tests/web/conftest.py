"""Browser tests: one real `signupflow serve` process (SQLite in a temp directory) and one
headless Chromium for the whole web suite; each test gets a fresh browser context and makes
its own organisation, so tests do not share state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import require_service
from tests.support.app_server import AppProcess, start_app
from tests.web.support import DATABASES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def server_env(data: Path) -> dict[str, str]:
    """The environment of a test server (and its worker) with its SQLite database in `data`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "DATABASE_", "REDIS_", "SECRET_", "PROMETHEUS_", "METRICS_"))
    }
    env.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": f"sqlite:///{data / 'signupflow.db'}",
            "AUTO_MIGRATE": "true",
            "LOAD_DEMO": "false",
            "BCRYPT_ROUNDS": "4",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOGIN_ATTEMPTS_PER_MINUTE": "1000",
            "SIGNUP_REQUESTS_PER_MINUTE": "1000",
            "STORAGE_PATH": str(data),
            "DRAIN_DELAY_S": "0",
            "SHUTDOWN_TIMEOUT_S": "5",
        }
    )
    return env


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    data = tmp_path_factory.mktemp("web")
    env = server_env(data)
    server = start_app(env, data / "server.log")
    try:
        server.wait_ready()
        DATABASES[server.url] = env["DATABASE_URL"]
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    # Playwright drives the system Chromium; `playwright install` is never run.
    if not CHROMIUM.exists():
        require_service("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
