"""Every page in every language, on a desktop and on a 390 px phone (issue #16): no page scrolls
sideways, no placeholder text (`null`, `undefined`, `NaN`, `[object Object]`, `{name}` or a
message key) in its text or its labels, no serious or critical axe violation, no console error;
on a phone, the volunteer's pages keep every action on screen as a 44 px touch target."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from harness.app_server import AppServer
from tests.web.browser import DESKTOP, PHONE
from tests.web.support import PLACEHOLDER, WEB, log_in_browser, messages, open_page, watch
from tests.web.world import PUBLIC_PAGES, VOLUNTEER_PAGES, World, app_routes

LOCALES = sorted(path.stem for path in (WEB / "locales").glob("*.json"))
KEYS = set(messages("en"))
KEY_LIKE = re.compile(r"\b[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+\b")
TOUCH_PX = 44
MEASURE = (
    (Path(__file__).with_name("measure_page.js")).read_text().replace("TOUCH_PX", str(TOUCH_PX))
)


def problems(page: Any, locale: str, *, phone_volunteer: bool) -> list[str]:
    seen = page.evaluate(MEASURE)
    found = []
    if seen["lang"] != locale:
        found.append(f"lang is {seen['lang']!r}")
    for where, text in [("text", seen["text"]), *(("label", label) for label in seen["labels"])]:
        found += [f"{where} shows {m.group(0)!r}" for m in PLACEHOLDER.finditer(text)]
        found += [
            f"{where} shows the key {m.group(0)!r}"
            for m in KEY_LIKE.finditer(text)
            if m.group(0) in KEYS
        ]
    if seen["pageWidth"] > seen["viewport"]:
        found.append(f"scrolls sideways: {seen['pageWidth']} px wide in {seen['viewport']}")
    if phone_volunteer:
        found += [f"scrolls inside: {what}" for what in seen["clipped"]]
        found += [f"off-screen: {what}" for what in seen["offscreen"]]
        found += [f"under {TOUCH_PX} px: {what}" for what in seen["small"]]
    results = Axe().run(page)
    found += [
        f"axe {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    return found


def choose_locale(page: Any, locale: str) -> None:
    page.evaluate("tag => localStorage.setItem('signupflow.locale', tag)", locale)
    page.reload()


def sweep(
    page: Any, base_url: str, pages: list[tuple[str, str]], locale: str, **how: bool
) -> dict[str, list[str]]:
    found = {}
    for route, name in pages:
        open_page(page, base_url, route, name)
        found[route] = problems(page, locale, **how)
    return {route: issues for route, issues in found.items() if issues}


def test_the_sweep_visits_every_page_of_the_app(world: World) -> None:
    visited = {route.split("?")[0] for route, _ in world.admin_pages() + VOLUNTEER_PAGES}
    visited |= {route.split("?")[0] for route, _ in PUBLIC_PAGES}
    visited = {re.sub(r"/\d+$", "/:id", route) for route in visited}
    assert visited == app_routes()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_in_every_language_reads_cleanly(
    web_server: AppServer, browser: Any, world: World, locale: str, viewport: dict[str, int]
) -> None:
    context = browser.new_context(locale="en-GB", viewport=viewport)
    try:
        watched = watch(context.new_page())
        page = watched.page
        page.goto(f"{web_server.url}/#/login")
        choose_locale(page, locale)
        phone = viewport == PHONE
        found = {"public": sweep(page, web_server.url, PUBLIC_PAGES, locale, phone_volunteer=phone)}
        log_in_browser(page, web_server.url, world.org.tokens)
        found["admin"] = sweep(
            page, web_server.url, world.admin_pages(), locale, phone_volunteer=False
        )
        log_in_browser(page, web_server.url, world.volunteer_tokens)
        found["volunteer"] = sweep(
            page, web_server.url, VOLUNTEER_PAGES, locale, phone_volunteer=phone
        )
        assert found == {"public": {}, "admin": {}, "volunteer": {}}
        watched.assert_clean()
    finally:
        context.close()
