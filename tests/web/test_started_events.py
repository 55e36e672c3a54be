"""The swaps page offers a volunteer no action the server would refuse: an offer of an event
that has started cannot be withdrawn (the page says why instead), and an own offer of an event
taken back to draft, which the volunteer may no longer see, does not break the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.web.browser import DESKTOP
from tests.web.support import (
    PASSWORD,
    api_signup,
    log_in_browser,
    messages,
    open_page,
    published_event,
    watch,
)

TEXT = messages("en")


def test_an_offer_of_a_started_event_shows_why_it_cannot_be_withdrawn(
    web_server: AppServer, browser: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    api = httpx.Client(base_url=f"{base}/api/v1", headers=org.headers)
    invited = api.post(
        "/invitations", json={"email": "ana-started@example.org", "name": "Ana", "roles": ["Usher"]}
    )
    assert invited.status_code == 201, invited.text
    accepted = httpx.post(
        f"{base}/api/v1/invitations/accept",
        json={"token": invited.json()["token"], "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    tokens = accepted.json()
    ana = httpx.Client(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    try:
        events = {
            title: published_event(api, title, capacity=2)
            for title in ("Choir", "Harvest fair", "Bake sale")
        }
        for event in events.values():
            signed = ana.post(f"/events/{event['id']}/signups", json={"role": "Usher"})
            assert signed.status_code == 201, signed.text
            offered = ana.post(f"/assignments/{signed.json()['id']}/swap-offers", json={})
            assert offered.status_code == 201, offered.text
        started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        moved = api.patch(
            f"/events/{events['Harvest fair']['id']}",
            json={
                "starts_at": started.isoformat(),
                "ends_at": (started + timedelta(hours=2)).isoformat(),
            },
        )
        assert moved.status_code == 200, moved.text
        drafted = api.patch(f"/events/{events['Bake sale']['id']}", json={"status": "draft"})
        assert drafted.status_code == 200, drafted.text

        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, base, tokens)
        open_page(page, base, "/swaps", "swaps")
        mine = page.locator("main section", has_text=TEXT["swaps.mine"])
        upcoming = mine.locator("tbody tr", has_text="Choir")
        expect(upcoming.locator("button", has_text=TEXT["swaps.cancel"])).to_have_count(1)
        past = mine.locator("tbody tr", has_text="Harvest fair")
        expect(past).to_contain_text(TEXT["problem.event.started"])
        expect(past.locator("button")).to_have_count(0)
        expect(mine.locator("tbody tr")).to_have_count(3)
        watched.assert_clean()
    finally:
        api.close()
        ana.close()
        context.close()
