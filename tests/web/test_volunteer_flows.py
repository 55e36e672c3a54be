"""Second-pass flows, each through the page and checked through the API: a waitlist on a
full slot, a swap that an admin approves (the organisation's setting switched on in the
settings page), and a people CSV checked by a dry run before it is imported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.web.browser import DESKTOP, SCREENSHOTS
from tests.web.support import (
    api_signup,
    log_in_browser,
    messages,
    open_page,
    published_event,
    submit,
    volunteer,
    watch,
)

TEXT = messages("en")


def test_waitlist_and_an_approved_swap(web_server: AppServer, browser: Any) -> None:
    base = web_server.url
    org = api_signup(base)
    api = httpx.Client(base_url=f"{base}/api/v1", headers=org.headers)
    contexts = [browser.new_context(locale="en-GB", viewport=DESKTOP) for _ in range(3)]
    try:
        ana, ben = volunteer(api, base, "Ana"), volunteer(api, base, "Ben")
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        event = api.post(
            "/events",
            json={
                "title": "Harvest fair",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=3)).isoformat(),
                "status": "published",
                "slots": [{"role": "Usher", "capacity": 1}],
            },
        ).json()
        ana_api = {"Authorization": f"Bearer {ana['tokens']['access_token']}"}
        signed = httpx.post(
            f"{base}/api/v1/events/{event['id']}/signups", json={"role": "Usher"}, headers=ana_api
        )
        assert signed.status_code == 201, signed.text

        # The admin requires approval for swaps on the settings page.
        admin = watch(contexts[0].new_page())
        log_in_browser(admin.page, base, org.tokens)
        open_page(admin.page, base, "/settings", "settings")
        admin.page.locator("main [name=swaps_need_approval]").check()
        submit(admin.page.locator("main form"))
        expect(admin.page.locator(".flash")).to_have_text(TEXT["settings.saved"])
        assert api.get("/organisation").json()["swaps_need_approval"] is True

        # Ben finds the slot full, joins its waitlist (first in line), and leaves it again.
        ben_page = watch(contexts[1].new_page())
        page = ben_page.page
        log_in_browser(page, base, ben["tokens"])
        open_page(page, base, "/open-shifts", "open-shifts")
        card = page.locator("article.shift", has_text="Harvest fair")
        card.locator("button", has_text=TEXT["shifts.join_waitlist"]).click()
        expect(page.locator(".flash")).to_have_text(TEXT["shifts.joined_waitlist"])
        position = page.locator("[data-testid=waitlist-position]")
        assert position.inner_text() == TEXT["shifts.position"].format(position=1)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "open-shifts-waitlist.png"), full_page=True)
        ben_headers = {"Authorization": f"Bearer {ben['tokens']['access_token']}"}
        assert len(httpx.get(f"{base}/api/v1/waitlist", headers=ben_headers).json()["items"]) == 1
        page.locator("main button", has_text=TEXT["shifts.leave_waitlist"]).click()
        expect(page.locator(".flash")).to_have_text(TEXT["shifts.left_waitlist"])
        assert httpx.get(f"{base}/api/v1/waitlist", headers=ben_headers).json()["items"] == []

        # Ana offers her shift from My schedule.
        ana_page = watch(contexts[2].new_page())
        apage = ana_page.page
        log_in_browser(apage, base, ana["tokens"])
        open_page(apage, base, "/my-schedule", "my-schedule")
        apage.locator("main a", has_text=TEXT["swaps.offer"]).click()
        form = apage.locator("main form")
        form.wait_for()
        assert form.locator("[name=assignment_id]").input_value() == str(signed.json()["id"])
        form.locator("[name=note]").fill("Family visit")
        submit(form)
        expect(apage.locator(".flash")).to_have_text(TEXT["swaps.offered"])

        # Ben takes it; it waits for the admin, who approves it.
        open_page(page, base, "/swaps", "swaps")
        row = page.locator("main tbody tr", has_text="Harvest fair").first
        assert "Family visit" in row.inner_text()
        row.locator("button", has_text=TEXT["swaps.take"]).click()
        expect(page.locator(".flash")).to_have_text(TEXT["swaps.taken_awaiting"])
        page.screenshot(path=str(SCREENSHOTS / "swaps.png"), full_page=True)
        open_page(admin.page, base, "/swaps", "swaps")
        admin.page.locator("main button", has_text=TEXT["swaps.approve"]).click()
        expect(admin.page.locator(".flash")).to_have_text(TEXT["swaps.approved"])
        holders = api.get(f"/events/{event['id']}/assignments").json()["items"]
        assert [a["person_id"] for a in holders if a["status"] != "declined"] == [ben["person_id"]]
        for watched in (admin, ben_page, ana_page):
            watched.assert_clean()
    finally:
        api.close()
        for context in contexts:
            context.close()


def test_people_csv_is_checked_before_it_is_imported(web_server: AppServer, desktop: Any) -> None:
    base = web_server.url
    org = api_signup(base)
    watched = watch(desktop.new_page())
    page = watched.page
    log_in_browser(page, base, org.tokens)
    open_page(page, base, "/people", "people")
    form = page.locator("main form", has=page.locator("[name=file]"))
    bad = "name,email,roles\nCleo,cleo@example.org,Usher\nDan,not-an-address,Cook\n"
    form.locator("[name=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    submit(form)
    errors = page.locator("[data-testid=csv-errors]")
    errors.wait_for()
    assert TEXT["csv.error_at"].format(line=3, column="email") in errors.inner_text()
    assert form.locator(".form-error").inner_text().startswith(TEXT["csv.invalid"])
    assert form.locator("[name=file]").evaluate("input => input.files.length") == 1  # kept
    import_button = page.locator("main button", has_text=TEXT["csv.import"])
    assert import_button.is_disabled()

    good = bad.replace("not-an-address", "dan@example.org")
    form.locator("[name=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    submit(form)
    result = page.locator("[data-testid=csv-result]")
    result.wait_for()
    assert result.inner_text() == TEXT["csv.would"].format(created=2, updated=0, unchanged=0)
    people = httpx.get(f"{base}/api/v1/people", headers=org.headers).json()["items"]
    assert "Dan" not in [p["name"] for p in people]  # the dry run wrote nothing
    import_button.click()
    expect(page.locator(".flash")).to_have_text(TEXT["csv.imported"])
    people = httpx.get(f"{base}/api/v1/people", headers=org.headers).json()["items"]
    assert {"Cleo", "Dan"} <= {p["name"] for p in people}

    with page.expect_download() as download:
        page.locator("main button", has_text=TEXT["csv.export"]).click()
    assert download.value.suggested_filename == f"people-{org.slug}.csv"
    watched.assert_clean()


def test_my_schedule_lists_the_waitlists_a_volunteer_is_on(
    web_server: AppServer, desktop: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        ana, ben = volunteer(api, base, "Ana"), volunteer(api, base, "Ben")
        event = published_event(api, "Soup kitchen")
        placed = api.post(
            f"/events/{event['id']}/assignments",
            json={"person_id": ana["person_id"], "role": "Usher"},
        )
        assert placed.status_code == 201, placed.text
    ben_headers = {"Authorization": f"Bearer {ben['tokens']['access_token']}"}
    joined = httpx.post(
        f"{base}/api/v1/events/{event['id']}/waitlist", headers=ben_headers, json={"role": "Usher"}
    )
    assert joined.status_code == 201, joined.text
    watched = watch(desktop.new_page())
    page = watched.page
    log_in_browser(page, base, ben["tokens"])
    open_page(page, base, "/my-schedule", "my-schedule")
    row = page.locator("main tbody tr", has_text="Soup kitchen")
    expect(row.locator("[data-testid=waitlist-position]")).to_have_text(
        TEXT["shifts.position"].format(position=1)
    )
    row.get_by_role(
        "button",
        name=TEXT["shifts.leave_waitlist_named"].format(role="Usher", title="Soup kitchen"),
    ).click()
    expect(page.locator(".flash")).to_have_text(TEXT["shifts.left_waitlist"])
    assert httpx.get(f"{base}/api/v1/waitlist", headers=ben_headers).json()["items"] == []
    watched.assert_clean()


def test_the_calendar_link_is_there_when_the_profile_is_opened_again(
    web_server: AppServer, desktop: Any
) -> None:
    base = web_server.url
    org = api_signup(base)
    with httpx.Client(base_url=f"{base}/api/v1", headers=org.headers) as api:
        vic = volunteer(api, base, "Vic")
    watched = watch(desktop.new_page())
    page = watched.page
    log_in_browser(page, base, vic["tokens"])
    open_page(page, base, "/profile", "profile")
    expect(page.locator("#calendar-link-input")).to_have_count(0)  # none made yet
    page.get_by_role("button", name=TEXT["calendar.create"]).click()
    made = page.locator("#calendar-link-input").input_value()
    assert "/api/v1/calendar/" in made
    page.reload()
    open_page(page, base, "/profile", "profile")
    expect(page.locator("#calendar-link-input")).to_have_value(made)
    watched.assert_clean()
