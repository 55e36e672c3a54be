"""A Lighthouse-style budget, measured in the browser on the demo data (`make run`'s
organisation: 24 volunteers, 10 events): each page's requests and bytes on a first load (a new
browser context, nothing cached) and the time until it is usable (its heading rendered, which
happens once the data it shows has arrived). Every figure is printed in the session summary;
a page over budget fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.app_server import AppServer, start_server
from signupflow.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG
from tests.web.browser import DESKTOP, PHONE
from tests.web.budget import first_load, record
from tests.web.support import server_env
from tests.web.world import ADMIN_PAGES, PUBLIC_PAGES, VOLUNTEER_PAGES


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data = tmp_path_factory.mktemp("demo")
    server = start_server({**server_env(data), "LOAD_DEMO": "true"}, data / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo_session(demo_server: AppServer) -> dict[str, Any]:
    """The demo organiser's session, as api.js keeps it."""
    login = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "organisation": DEMO_SLUG}
    response = httpx.post(f"{demo_server.url}/api/v1/auth/login", json=login)
    assert response.status_code == 200, response.text
    tokens = response.json()
    return {
        "access": tokens["access_token"],
        "refresh": tokens["refresh_token"],
        "organisationId": tokens["organisation_id"],
    }


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_loads_within_its_budget_on_the_demo_data(
    demo_server: AppServer, demo_session: dict[str, Any], browser: Any, viewport: Any
) -> None:
    pages = [(route, name, None) for route, name in PUBLIC_PAGES]
    seen = {route for route, _ in ADMIN_PAGES}
    pages += [(route, name, demo_session) for route, name in ADMIN_PAGES]
    pages += [(r, n, demo_session) for r, n in VOLUNTEER_PAGES if r not in seen]
    loads = {
        route: first_load(browser, demo_server.url, route, name, session, viewport)
        for route, name, session in pages
    }
    width = "desktop" if viewport == DESKTOP else "phone"
    for route, load in loads.items():
        record(width, route, load)
    assert [route for route, load in loads.items() if not load.within_budget()] == []
