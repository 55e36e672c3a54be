"""No page fans out: every page of the web app makes as many API requests for a large
organisation as for a small one, so none asks for something once per row it shows.

The pages are read from the router in web/js/app.js, so a new page is measured without being
listed here; a page whose route has parameters needs its values in `ROUTE_VALUES` (the test
fails until it has them). Each page is loaded whole (the app starts, reads /me, renders the page)
in Chromium as the admin and, for the pages every member has, as a volunteer, in the small and
in the large organisation of tests/support/sized_organisation.py. The public pages (log in, sign
up, accept an invitation, reset a password) come before any organisation and are not measured.

`all()` (web/js/api.js) reads a list 500 items a page; every list here is shorter, so a page
that reads a whole list makes one request for it in both organisations."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from harness.app_server import AppServer
from tests.support.sized_organisation import (
    LARGE,
    SMALL,
    Member,
    Organisation,
    build_organisation,
)
from tests.web.browser import DESKTOP
from tests.web.support import WEB, api_signup, log_in_browser, watch

API = "/api/v1/"
SETTLED_S = 0.25  # no API request in flight for this long after the page rendered
RENDER_TIMEOUT_MS = 60_000  # a large page on a busy 2-core machine
_ROUTE = re.compile(r"\{ path: '(?P<path>[^']+)', load: [^}]*?access: '(?P<access>\w+)'")
_NUMBER = re.compile(r"/\d+(?=/|$)")

# Client routes with parameters -> their values in an organisation.
ROUTE_VALUES: dict[str, Callable[[Organisation], dict[str, int]]] = {
    "/events/:id": lambda org: {"id": org.event_id},
    "/people/:id": lambda org: {"id": org.person_id},
}
# Pages that still ask once per row, and why: delete the line once fixed (the test fails while
# a fixed page is still listed).
KNOWN_FAN_OUT: dict[str, str] = {}


def page_routes() -> list[tuple[str, str]]:
    """(route, access) of every page of the router, in its order."""
    source = (WEB / "js" / "app.js").read_text("utf-8")
    routes = [(m["path"], m["access"]) for m in _ROUTE.finditer(source)]
    assert len(routes) == source.count("{ path: '"), "a route the pattern does not read"
    return routes


def _filled(route: str, org: Organisation) -> str:
    values = ROUTE_VALUES[route](org) if ":" in route else {}
    return re.sub(r":(\w+)", lambda m: str(values[m.group(1)]), route)


def _page_name(route: str) -> str:
    """The page's `main[data-page]`, as app.js derives it from the route."""
    return re.sub(r"/:?", "-", route[1:])


class ApiRequests:
    """The API requests a browser page makes, as "GET /api/v1/events/{id}", and how many
    are still in flight."""

    def __init__(self, page: Any) -> None:
        self.made: list[str] = []
        self.in_flight = 0
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    @staticmethod
    def _is_api(request: Any) -> bool:
        return urlsplit(request.url).path.startswith(API)

    def _started(self, request: Any) -> None:
        if self._is_api(request):
            self.made.append(f"{request.method} {_NUMBER.sub('/{id}', urlsplit(request.url).path)}")
            self.in_flight += 1

    def _ended(self, request: Any) -> None:
        if self._is_api(request):
            self.in_flight -= 1

    def settle(self, page: Any) -> None:
        quiet_since = time.monotonic()
        deadline = quiet_since + 10
        while time.monotonic() - quiet_since < SETTLED_S:
            assert time.monotonic() < deadline, f"API requests still in flight: {self.made}"
            page.wait_for_timeout(50)
            if self.in_flight:
                quiet_since = time.monotonic()


def requests_of_page(context: Any, base_url: str, route: str, org: Organisation) -> Counter[str]:
    """Load the app at `route` (filled for `org`) in a new tab of a logged-in context, until
    the page has rendered and no API request is in flight; the API requests it made."""
    watched = watch(context.new_page())
    page = watched.page
    page.set_default_timeout(RENDER_TIMEOUT_MS)
    requests = ApiRequests(page)
    page.goto(f"{base_url}/#{_filled(route, org)}")
    page.wait_for_selector(f"main[data-page='{_page_name(route)}'] h1")
    requests.settle(page)
    watched.assert_clean()
    page.close()
    return Counter(requests.made)


def _logged_in(browser: Any, base_url: str, member: Member) -> Any:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    page = context.new_page()
    log_in_browser(page, base_url, member.tokens)
    page.close()
    return context


@pytest.fixture(scope="module")
def organisations(web_server: AppServer) -> dict[str, Organisation]:
    with httpx.Client(base_url=web_server.url, timeout=60) as client:
        return {
            size.name: build_organisation(client, api_signup(web_server.url).tokens, size)
            for size in (SMALL, LARGE)
        }


def test_every_page_with_parameters_has_values() -> None:
    routes = page_routes()
    assert ("/events/:id", "scheduler") in routes
    assert {r for r, _ in routes if ":" in r} - ROUTE_VALUES.keys() == set(), (
        "add the values of these routes' parameters to ROUTE_VALUES"
    )


def _difference(small: Counter[str], large: Counter[str]) -> str:
    return ", ".join(
        f"{request} {small[request]} -> {large[request]}"
        for request in sorted(small.keys() | large.keys())
        if small[request] != large[request]
    )


@pytest.mark.parametrize("caller", ["admin", "volunteer"])
def test_pages_make_as_many_api_requests_for_a_large_organisation(
    web_server: AppServer, browser: Any, organisations: dict[str, Organisation], caller: str
) -> None:
    contexts = {
        name: _logged_in(browser, web_server.url, org.member(caller))
        for name, org in organisations.items()
    }
    try:
        fanned: dict[str, str] = {}
        measured = 0
        for route, access in page_routes():
            if access == "public" or (caller == "volunteer" and access != "member"):
                continue
            made = {
                name: requests_of_page(context, web_server.url, route, organisations[name])
                for name, context in contexts.items()
            }
            measured += 1
            if sum(made["small"].values()) != sum(made["large"].values()):
                fanned[f"{route} as {caller}"] = _difference(made["small"], made["large"])
    finally:
        for context in contexts.values():
            context.close()
    assert measured >= 5
    known = {page for page in KNOWN_FAN_OUT if page.endswith(f" as {caller}")}
    new = {page: fanned[page] for page in fanned.keys() - known}
    assert not new, "pages that ask once per row:\n" + "\n".join(
        f"{page}: {detail}" for page, detail in sorted(new.items())
    )
    fixed = sorted(known - fanned.keys())
    assert not fixed, f"fixed: delete these from KNOWN_FAN_OUT: {fixed}"


def test_a_page_that_asks_once_per_row_is_caught(
    web_server: AppServer, browser: Any, organisations: dict[str, Organisation]
) -> None:
    """The check itself: a script that reads the events list and then each event is counted
    as growing with the organisation; the list alone is not."""
    script = """async (perRow) => {
        const { access } = JSON.parse(localStorage.getItem('signupflow.session'));
        const headers = { Authorization: `Bearer ${access}` };
        const list = await (await fetch('/api/v1/events?limit=500', { headers })).json();
        if (perRow) {
            await Promise.all(list.items.map((e) => fetch(`/api/v1/events/${e.id}`, { headers })));
        }
    }"""
    counts: dict[bool, list[int]] = {True: [], False: []}
    for org in organisations.values():
        context = _logged_in(browser, web_server.url, org.admin)
        page = context.new_page()
        page.goto(f"{web_server.url}/#/settings")
        page.wait_for_selector("main[data-page='settings'] h1")
        for per_row in counts:
            requests = ApiRequests(page)
            page.evaluate(script, per_row)
            requests.settle(page)
            counts[per_row].append(len(requests.made))
        context.close()
    assert counts[True][0] < counts[True][1], counts
    assert counts[False][0] == counts[False][1] == 1, counts
