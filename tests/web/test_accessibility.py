"""axe-core finds no serious or critical violation on any page; forms work from the keyboard
with a visible focus; `lang` follows the chosen language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.web.browser import DESKTOP, PHONE
from tests.web.support import (
    PASSWORD,
    Org,
    api_signup,
    log_in_browser,
    messages,
    open_page,
    wait_page,
    watch,
)

ADMIN_PAGES = [
    ("/dashboard", "dashboard"),
    ("/events", "events"),
    ("/events/new", "events-new"),
    ("/people", "people"),
    ("/teams", "teams"),
    ("/settings", "settings"),
    ("/profile", "profile"),
    ("/schedule", "schedule"),
    ("/swaps", "swaps"),
]
VOLUNTEER_PAGES = [
    ("/my-schedule", "my-schedule"),
    ("/open-shifts", "open-shifts"),
    ("/availability", "availability"),
    ("/swaps", "swaps"),
    ("/profile", "profile"),
]
PUBLIC_PAGES = [
    ("/login", "login"),
    ("/signup", "signup"),
    ("/forgot-password", "forgot-password"),
    ("/reset-password?token=abcdefghijklmnopqrstuvwxyz", "reset-password"),
    ("/accept?token=abcdefghijklmnopqrstuvwxyz", "accept"),
]


@dataclass
class World:
    org: Org
    volunteer_tokens: dict[str, Any]
    event_id: int
    person_id: int


@pytest.fixture(scope="module")
def world(web_server: AppServer) -> World:
    org = api_signup(web_server.url, timezone="Europe/Lisbon")
    with httpx.Client(base_url=f"{web_server.url}/api/v1", headers=org.headers) as api:
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        event = api.post(
            "/events",
            json={
                "title": "Sunday service",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "status": "published",
                "slots": [{"role": "Usher", "capacity": 2}, {"role": "Sound", "capacity": 1}],
            },
        )
        assert event.status_code == 201, event.text
        api.post("/teams", json={"name": "Welcome team"}).raise_for_status()
        invitation = api.post(
            "/invitations",
            json={"email": f"vol-{org.slug}@example.org", "name": "Vic", "roles": ["Usher"]},
        )
        assert invitation.status_code == 201, invitation.text
        accepted = httpx.post(
            f"{web_server.url}/api/v1/invitations/accept",
            json={"token": invitation.json()["token"], "password": PASSWORD},
        )
        assert accepted.status_code == 200, accepted.text
        person_id = invitation.json()["person_id"]
        # A draft for the schedule page to review (unfilled places, fairness, edit forms).
        solved = api.post(
            "/schedules/solve",
            json={
                "starts_at": datetime.now(UTC).isoformat(),
                "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            },
        )
        assert solved.status_code in (201, 202), solved.text
    return World(org, accepted.json(), event.json()["id"], person_id)


def serious(page: Any) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    yield context
    context.close()


def test_public_pages_have_no_serious_axe_violations(web_server: AppServer, context: Any) -> None:
    watched = watch(context.new_page())
    found = {}
    for route, name in PUBLIC_PAGES:
        open_page(watched.page, web_server.url, route, name)
        found[route] = serious(watched.page)
    assert found == {route: [] for route, _ in PUBLIC_PAGES}
    watched.assert_clean()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_pages_have_no_serious_axe_violations(
    web_server: AppServer, browser: Any, world: World, viewport: dict[str, int]
) -> None:
    context = browser.new_context(locale="en-GB", viewport=viewport)
    try:
        watched = watch(context.new_page())
        log_in_browser(watched.page, web_server.url, world.org.tokens)
        pages = [*ADMIN_PAGES, (f"/events/{world.event_id}", "events-id")]
        pages.append((f"/people/{world.person_id}", "people-id"))
        found = {}
        for route, name in pages:
            open_page(watched.page, web_server.url, route, name)
            found[route] = serious(watched.page)
        assert found == {route: [] for route, _ in pages}
        watched.assert_clean()
    finally:
        context.close()


def test_volunteer_pages_have_no_serious_axe_violations(
    web_server: AppServer, context: Any, world: World
) -> None:
    watched = watch(context.new_page())
    log_in_browser(watched.page, web_server.url, world.volunteer_tokens)
    found = {}
    for route, name in VOLUNTEER_PAGES:
        open_page(watched.page, web_server.url, route, name)
        found[route] = serious(watched.page)
    assert found == {route: [] for route, _ in VOLUNTEER_PAGES}
    watched.assert_clean()


def test_volunteers_cannot_open_organiser_pages(
    web_server: AppServer, context: Any, world: World
) -> None:
    page = context.new_page()
    log_in_browser(page, web_server.url, world.volunteer_tokens)
    page.goto(f"{web_server.url}/#/people")
    wait_page(page, "my-schedule")
    nav = page.locator("#nav").inner_text()
    assert "People" not in nav
    assert "My schedule" in nav


def test_the_login_form_works_from_the_keyboard_with_a_visible_focus(
    web_server: AppServer, context: Any, world: World
) -> None:
    page = context.new_page()
    page.set_default_timeout(10_000)
    open_page(page, web_server.url, "/login", "login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")  # skip to the content
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement; const style = getComputedStyle(el);"
            " return {name: el.name || el.type, outline: style.outlineStyle,"
            " width: parseFloat(style.outlineWidth)}; }"
        )
        assert focused["outline"] != "none", focused
        assert focused["width"] >= 2, focused
        order.append(focused["name"])
    assert order == ["email", "password", "organisation", "submit"]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.type(world.org.admin_email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    wait_page(page, "dashboard")


def test_lang_attribute_and_text_follow_the_chosen_language(
    web_server: AppServer, context: Any
) -> None:
    page = context.new_page()
    open_page(page, web_server.url, "/login", "login")
    assert page.locator("html").get_attribute("lang") == "en"
    for locale in ["zh-Hant", "pt", "zh-Hans"]:
        page.locator("#language-select").select_option(locale)
        expect(page.locator("html")).to_have_attribute("lang", locale)
        text = messages(locale)
        expect(page.locator("main h1")).to_have_text(text["login.title"])
        assert page.locator("#language-select").is_visible()
        assert page.title() == f"{text['login.title']} \N{EN DASH} {text['app.name']}"
    page.reload()
    wait_page(page, "login")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"  # remembered on this device
