"""Browser tests: one real `signupflow serve` process (SQLite in a temp directory) and one
headless Chromium for the whole web suite; each test gets a fresh browser context and makes
its own organisation, so tests do not share state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from harness.app_server import AppServer, start_server
from tests.support.services import require_service
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.web.budget import budget_summary
from tests.web.support import DATABASES, server_env
from tests.web.world import World, build_world


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data = tmp_path_factory.mktemp("web")
    env = server_env(data)
    server = start_server(env, data / "server.log")
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


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    """A fresh English desktop browser context for one test."""
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture(scope="session")
def world(web_server: AppServer) -> World:
    """One organisation with something on every page; tests that use it only read."""
    return build_world(web_server.url)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if measured := budget_summary():
        terminalreporter.section("page budget (first load, demo data)")
        for line in measured:
            terminalreporter.write_line(line)
