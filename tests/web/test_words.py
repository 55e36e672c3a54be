"""What the pages say (issue #16, point 9): the organisation's code is not called an address,
counts follow each language's plural rules, a place offers only what can be done with it in
its state, "Full" is not shown in the colour of success, a new organisation's dashboard does
not claim every place is filled, and Traditional Chinese is set in Traditional fonts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.web.browser import DESKTOP
from tests.web.support import (
    api_signup,
    log_in_browser,
    messages,
    open_page,
    published_event,
    volunteer,
    watch,
)

TEXT = messages("en")
SUCCESS_GREEN = "rgb(231, 244, 234)"  # the background of a success badge (.badge.good)


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    yield context
    context.close()


def place(api: httpx.Client, made: dict[str, Any], person_id: int) -> dict[str, Any]:
    answer = api.post(
        f"/events/{made['id']}/assignments", json={"person_id": person_id, "role": "Usher"}
    )
    assert answer.status_code == 201, answer.text
    placed: dict[str, Any] = answer.json()
    return placed


def test_my_schedule_offers_what_each_state_allows_and_counts_in_words(
    web_server: AppServer, context: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        vic = volunteer(api, base, "Vic")
        place(
            api, published_event(api, "Choir", capacity=2, days=3), vic["person_id"]
        )  # left pending
        declined = place(api, published_event(api, "Fair", capacity=2, days=4), vic["person_id"])
        confirmed = place(api, published_event(api, "Market", capacity=2, days=5), vic["person_id"])
    vic_headers = {"Authorization": f"Bearer {vic['tokens']['access_token']}"}
    for assignment, answer in [(declined, "decline"), (confirmed, "accept")]:
        url = f"{base}/api/v1/assignments/{assignment['id']}/{answer}"
        httpx.post(url, headers=vic_headers).raise_for_status()
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, base, vic["tokens"])
    open_page(page, base, "/my-schedule", "my-schedule")
    # One pending place: the singular, not "1 shift(s) are".
    expect(page.locator("main .notice")).to_have_text("1 shift is waiting for your answer.")
    actions = {
        title: page.locator("main tbody tr", has_text=title)
        .locator(".actions > *")
        .all_inner_texts()
        for title in ("Choir", "Fair", "Market")
    }
    assert actions == {
        "Choir": [TEXT["schedule.accept"], TEXT["schedule.decline"], TEXT["schedule.ics"]],
        "Fair": [],
        "Market": [TEXT["swaps.offer"], TEXT["schedule.ics"], TEXT["schedule.withdraw"]],
    }
    watched.assert_clean()


def test_full_is_a_warning_and_an_empty_dashboard_claims_nothing(
    web_server: AppServer, context: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, base, org.tokens)
    open_page(page, base, "/dashboard", "dashboard")
    expect(page.locator("main")).to_contain_text(TEXT["dashboard.no_events"])
    expect(page.locator("main")).not_to_contain_text(TEXT["dashboard.all_filled"])
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        ana = volunteer(api, base, "Ana")
        ben = volunteer(api, base, "Ben")
        full = published_event(api, "Choir", capacity=1, days=3)
        place(api, full, ana["person_id"])
    log_in_browser(page, base, ben["tokens"])
    open_page(page, base, "/open-shifts", "open-shifts")
    badge = page.locator("main .badge", has_text=TEXT["shifts.full"])
    expect(badge).to_be_visible()
    colour = badge.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour != SUCCESS_GREEN, colour
    good = page.evaluate(
        "() => { const el = document.createElement('span'); el.className = 'badge good';"
        " document.body.append(el); return getComputedStyle(el).backgroundColor; }"
    )
    assert good == SUCCESS_GREEN  # the constant above is what success looks like
    watched.assert_clean()


def test_the_organisation_code_is_named_as_such(web_server: AppServer, context: Any) -> None:
    page = context.new_page()
    open_page(page, web_server.url, "/signup", "signup")
    slug = page.locator("main [name=slug]").get_attribute("id")
    expect(page.locator(f"main label[for='{slug}']")).to_contain_text("Organisation code")


@pytest.mark.parametrize(
    ("locale", "font", "other"),
    [("zh-Hant", "Noto Sans CJK TC", "Noto Sans CJK SC"), ("zh-Hans", "Noto Sans CJK SC", "TC")],
)
def test_chinese_is_set_in_the_fonts_of_its_script(
    web_server: AppServer, context: Any, locale: str, font: str, other: str
) -> None:
    page = context.new_page()
    open_page(page, web_server.url, "/login", "login")
    page.locator("#language-select").select_option(locale)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    fonts = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font in fonts, fonts
    assert other not in fonts, fonts
