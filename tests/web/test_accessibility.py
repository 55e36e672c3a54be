"""Forms work from the keyboard with a visible focus; `lang` follows the chosen language;
volunteers are kept off organisers' pages. (axe runs on every page in test_sweep.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.web.browser import DESKTOP
from tests.web.support import PASSWORD, log_in_browser, messages, open_page, wait_page
from tests.web.world import World


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    yield context
    context.close()


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
