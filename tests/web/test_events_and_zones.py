"""Editing an event keeps its wall-clock times in the organisation's zone, and the zone
arithmetic in zones.js holds across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.web.browser import DESKTOP
from tests.web.support import (
    PLACEHOLDER,
    api_signup,
    log_in_browser,
    open_page,
    submit,
    wait_page,
    watch,
)


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(locale="pt-BR", timezone_id="Pacific/Auckland", viewport=DESKTOP)
    yield context
    context.close()


def test_an_edited_event_keeps_its_local_times_and_replaces_its_slots(
    web_server: AppServer, context: Any
) -> None:
    org = api_signup(web_server.url, timezone="Europe/Paris")
    created = httpx.post(
        f"{web_server.url}/api/v1/events",
        headers=org.headers,
        json={
            "title": "Concert",
            "starts_at": "2031-07-14T18:00:00+02:00",
            "ends_at": "2031-07-14T22:00:00+02:00",
            "slots": [{"role": "Usher", "capacity": 4}],
        },
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, f"/events/{event_id}", "events-id")
    form = page.locator("main form")
    assert form.locator("[name=starts_at]").input_value() == "2031-07-14T18:00"
    form.locator("[name=title]").fill("Summer concert")
    form.locator("[name=ends_at]").fill("2031-07-14T23:30")
    form.locator("[name='slots.0.capacity']").fill("6")
    submit(form)
    wait_page(page, "events")
    event = httpx.get(f"{web_server.url}/api/v1/events/{event_id}", headers=org.headers).json()
    assert event["title"] == "Summer concert"
    assert datetime.fromisoformat(event["starts_at"]) == datetime(2031, 7, 14, 16, 0, tzinfo=UTC)
    assert datetime.fromisoformat(event["ends_at"]) == datetime(2031, 7, 14, 21, 30, tzinfo=UTC)
    assert [(s["role"], s["capacity"]) for s in event["slots"]] == [("Usher", 6)]
    watched.assert_clean()


CONVERSIONS = [
    ("2030-03-31T01:30", "Europe/Paris", "2030-03-31T00:30:00.000Z"),  # before the spring change
    ("2030-03-31T03:30", "Europe/Paris", "2030-03-31T01:30:00.000Z"),  # after it
    ("2030-10-27T12:00", "Europe/Paris", "2030-10-27T11:00:00.000Z"),  # winter time again
    ("2030-11-03T09:00", "America/New_York", "2030-11-03T14:00:00.000Z"),
    ("2030-06-01T09:00", "Asia/Kolkata", "2030-06-01T03:30:00.000Z"),
    ("2030-01-15T23:45", "UTC", "2030-01-15T23:45:00.000Z"),
]


def test_wall_times_convert_to_instants_in_the_organisation_zone(
    web_server: AppServer, context: Any
) -> None:
    page = context.new_page()
    open_page(page, web_server.url, "/login", "login")
    results = page.evaluate(
        """async (cases) => {
            const zones = await import('/static/js/zones.js');
            return cases.map(([local, zone]) => zones.wallTimeToIso(local, zone));
        }""",
        [[local, zone] for local, zone, _ in CONVERSIONS],
    )
    assert results == [expected for _, _, expected in CONVERSIONS]


def test_an_occurrence_edited_with_the_following_ones_moves_them_all(
    web_server: AppServer, context: Any
) -> None:
    org = api_signup(web_server.url, timezone="Europe/Paris")
    created = httpx.post(
        f"{web_server.url}/api/v1/event-series",
        headers=org.headers,
        json={
            "title": "Choir",
            "starts_at": "2030-10-20T18:00:00+02:00",  # weekly across the end of summer time
            "ends_at": "2030-10-20T20:00:00+02:00",
            "rrule": "FREQ=WEEKLY;COUNT=3",
            "slots": [{"role": "Usher", "capacity": 2}],
        },
    )
    assert created.status_code == 201, created.text
    first, second, third = created.json()["occurrences"]
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, f"/events/{second['id']}", "events-id")
    form = page.locator("main form")
    form.locator("[name=title]").fill("Choir rehearsal")
    form.locator("[name=starts_at]").fill("2030-10-27T19:00")
    form.locator("[name=ends_at]").fill("2030-10-27T21:00")
    form.locator("[name=scope]").select_option("following")
    submit(form)
    wait_page(page, "events")

    def local(event_id: int) -> tuple[str, str]:
        event = httpx.get(f"{web_server.url}/api/v1/events/{event_id}", headers=org.headers).json()
        return event["title"], event["starts_at_local"]

    assert [local(e["id"]) for e in (first, second, third)] == [
        ("Choir", "2030-10-20T18:00:00+02:00"),
        ("Choir rehearsal", "2030-10-27T19:00:00+01:00"),
        ("Choir rehearsal", "2030-11-03T19:00:00+01:00"),
    ]
    watched.assert_clean()


def test_a_weekly_series_starts_on_its_first_chosen_day_not_on_the_typed_one(
    web_server: AppServer, context: Any
) -> None:
    org = api_signup(web_server.url, timezone="Europe/Paris")
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, "/events/new", "events-new")
    form = page.locator("main form")
    form.locator("[name=title]").fill("Choir")
    # Wednesday 23 October 2030, evening to past midnight, repeated on Sundays only, across
    # the end of summer time (27 October).
    form.locator("[name=starts_at]").fill("2030-10-23T22:00")
    form.locator("[name=ends_at]").fill("2030-10-24T01:00")
    form.locator("[name='slots.0.role']").fill("Usher")
    form.locator("[name=repeat]").check()
    form.locator("input[name=byday][value='2']").uncheck()
    form.locator("input[name=byday][value='6']").check()
    form.locator("[name=repeat_count]").fill("2")
    # The preview of the two dates, with no placeholder where a third line could be (#16).
    preview = form.locator(".preview")
    expect(preview.locator("li")).to_have_count(2)
    assert PLACEHOLDER.findall(preview.inner_text()) == [], preview.inner_text()
    submit(form)
    wait_page(page, "events")
    events = httpx.get(f"{web_server.url}/api/v1/events", headers=org.headers).json()["items"]
    assert [(e["starts_at_local"], e["ends_at_local"]) for e in events] == [
        ("2030-10-27T22:00:00+01:00", "2030-10-28T01:00:00+01:00"),
        ("2030-11-03T22:00:00+01:00", "2030-11-04T01:00:00+01:00"),
    ]
    watched.assert_clean()
