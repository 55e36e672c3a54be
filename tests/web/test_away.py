"""Time off as the pages show it (issue #16): a volunteer is not offered a shift on a day they
are away, the schedule review marks a kept place whose person is away now, and the event page
shows a place an admin gave over someone's time off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.support.messages import render
from tests.web.browser import SCREENSHOTS
from tests.web.support import (
    api_signup,
    log_in_browser,
    messages,
    open_page,
    published_event,
    volunteer,
    watch,
)
from tests.web.test_schedule_review import run_draft

TEXT = messages("en")


def day_of(event: dict[str, Any]) -> str:
    return datetime.fromisoformat(event["starts_at"]).date().isoformat()  # the org is in UTC


def time_off(api: httpx.Client, person_id: int, event: dict[str, Any]) -> None:
    body = {"starts_on": day_of(event), "ends_on": day_of(event), "reason": "away"}
    added = api.post(f"/people/{person_id}/time-off", json=body)
    assert added.status_code == 201, added.text


def test_a_volunteer_is_not_offered_a_shift_on_a_day_off(
    web_server: AppServer, desktop: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        ana = volunteer(api, base, "Ana")
        away = published_event(api, "Harvest fair", days=3)
        published_event(api, "Carol service", days=5)
        time_off(api, ana["person_id"], away)
    watched = watch(desktop.new_page())
    page = watched.page
    log_in_browser(page, base, ana["tokens"])
    open_page(page, base, "/open-shifts", "open-shifts")

    fair = page.locator("article.shift", has_text="Harvest fair")
    expect(fair.locator("[data-testid=away]")).to_have_text(TEXT["shifts.away"])
    expect(fair.locator("button")).to_have_count(0)
    carols = page.locator("article.shift", has_text="Carol service")
    sign_up = TEXT["shifts.sign_up_as"].format(role="Usher")
    expect(carols.get_by_role("button", name=sign_up)).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "open-shifts-away.png"), full_page=True)
    watched.assert_clean()


def test_the_review_marks_a_kept_place_and_the_event_page_an_override(
    web_server: AppServer, desktop: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        ben, cy = volunteer(api, base, "Ben"), volunteer(api, base, "Cy")
        event = published_event(api, "Harvest fair", capacity=2)
        signed = httpx.post(
            f"{base}/api/v1/events/{event['id']}/signups",
            json={"role": "Usher"},
            headers={"Authorization": f"Bearer {ben['tokens']['access_token']}"},
        )
        assert signed.status_code == 201, signed.text
        time_off(api, ben["person_id"], event)  # after signing up: the place is kept
        time_off(api, cy["person_id"], event)
        forced = api.post(
            f"/events/{event['id']}/assignments",
            json={"person_id": cy["person_id"], "role": "Usher", "override": True},
        )
        assert forced.status_code == 201, forced.text
    watched = watch(desktop.new_page())
    page = watched.page
    log_in_browser(page, base, org.tokens)
    open_page(page, base, "/schedule", "schedule")
    review = run_draft(page, TEXT)

    warning = page.locator("[data-testid=plan-violations]")
    expect(warning).to_have_text(render("en", TEXT["plan.violations"], count=1))
    marked = review.locator("ul.entries > li", has=page.locator("[data-testid=broken-rule]"))
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("Ben")
    expect(marked.locator("[data-testid=broken-rule]")).to_have_text(TEXT["rule.time_off"])
    page.screenshot(path=str(SCREENSHOTS / "schedule-kept-place.png"), full_page=True)

    open_page(page, base, f"/events/{event['id']}", "events-id")
    row = page.locator("main tbody tr", has=page.locator("[data-testid=overridden]"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Cy")
    expect(row.locator("[data-testid=overridden]")).to_have_text(TEXT["events.overridden.time_off"])
    watched.assert_clean()
