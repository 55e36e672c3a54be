"""The whole loop in a real browser against a real server: an organiser signs up, creates an
event with role slots and invites a volunteer; the volunteer accepts, sets availability, signs
up for an open shift and finds it in their schedule; the organiser sees the coverage. Run in
English on a desktop, in Spanish, and on a phone-sized screen, with the browser in a different
time zone from the organisation's, so times must be shown in the organisation's zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.support.messages import render
from tests.support.signup import mailed_signup_token_in
from tests.web.browser import DESKTOP, PHONE, SCREENSHOTS
from tests.web.support import (
    DATABASES,
    PASSWORD,
    messages,
    open_page,
    submit,
    unique,
    wait_page,
    watch,
)

BROWSER_TIMEZONE = "Asia/Tokyo"  # far from the organisation's, so a zone mix-up shows
ORG_TIMEZONE = "America/New_York"

CASES = [
    pytest.param("en", "en-GB", DESKTOP, id="english-desktop"),
    pytest.param("es", "es-ES", DESKTOP, id="spanish-desktop"),
    pytest.param("fr", "fr-FR", PHONE, id="french-phone"),
]


def shot(page: Any, name: str, enabled: bool) -> None:
    if enabled:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(("locale", "browser_locale", "viewport"), CASES)
def test_organiser_and_volunteer_complete_the_sign_up_loop(
    web_server: AppServer, browser: Any, locale: str, browser_locale: str, viewport: dict[str, int]
) -> None:
    text = messages(locale)
    base = web_server.url
    screenshots = locale == "en"
    phone_shots = viewport == PHONE
    slug = unique("loop")
    event_title = f"Food bank {slug[-4:]}"
    volunteer_email = f"vol-{slug}@example.org"

    options = {"locale": browser_locale, "timezone_id": BROWSER_TIMEZONE, "viewport": viewport}
    admin_context = browser.new_context(**options)
    volunteer_context = browser.new_context(**options)
    try:
        admin = watch(admin_context.new_page())
        page = admin.page

        # Sign up a new organisation; the interface follows the browser's language.
        open_page(page, base, "/signup", "signup")
        assert page.locator("html").get_attribute("lang") == locale
        assert page.locator("h1").inner_text() == text["signup.title"]
        form = page.locator("main form")
        form.locator("[name=organisation_name]").fill(f"Org {slug}")
        form.locator("[name=slug]").fill(slug)
        form.locator("[name=timezone]").select_option(ORG_TIMEZONE)
        form.locator("[name=name]").fill("Ada Admin")
        admin_email = f"admin-{slug}@example.org"
        form.locator("[name=email]").fill(admin_email)
        form.locator("[name=password]").fill(PASSWORD)
        shot(page, "signup", screenshots)
        submit(form)
        # The organisation exists once the link mailed to the organiser is followed.
        wait_page(page, "login")
        token = mailed_signup_token_in(DATABASES[base], admin_email)
        open_page(page, base, f"/signup/confirm?token={token}", "signup-confirm")
        submit(page.locator("main form"))
        wait_page(page, "dashboard")
        assert page.locator("h1").inner_text() == text["dashboard.title"]

        # An event tomorrow 09:00-12:00 (organisation time) needing two ushers and one cook.
        open_page(page, base, "/events/new", "events-new")
        form = page.locator("main form")
        form.locator("[name=title]").fill(event_title)
        form.locator("[name=location]").fill("Main hall")
        form.locator("[name=status]").select_option("published")
        form.locator("[name='slots.0.role']").fill("Usher")
        form.locator("[name='slots.0.capacity']").fill("2")
        form.locator("fieldset button.secondary").last.click()  # add a role
        form.locator("[name='slots.1.role']").fill("Cook")
        form.locator("[name='slots.1.capacity']").fill("1")
        assert ORG_TIMEZONE in form.inner_text()
        shot(page, "event-form", screenshots)
        submit(form)
        wait_page(page, "events")
        assert page.locator(".flash").inner_text() == text["events.saved"]
        assert event_title in page.locator("main table").inner_text()

        # Invite a volunteer who can serve as an usher; the link is shown once.
        open_page(page, base, "/people", "people")
        form = page.locator("main form").first
        form.locator("[name=name]").fill("Vera Volunteer")
        form.locator("[name=email]").fill(volunteer_email)
        form.locator("[name=roles]").fill("Usher")
        submit(form)
        link_input = page.locator("#invite-link-input")
        link_input.wait_for()
        link = link_input.input_value()
        assert link.startswith(f"{base}/#/accept?token=")
        assert form.locator("[name=email]").input_value() == ""  # ready for the next one
        shot(page, "people", screenshots)

        # The volunteer accepts in their own browser and lands on availability.
        volunteer = watch(volunteer_context.new_page())
        vpage = volunteer.page
        vpage.goto(link)
        wait_page(vpage, "accept")
        assert vpage.locator("h1").inner_text() == text["accept.title"]
        form = vpage.locator("main form")
        form.locator("[name=password]").fill(PASSWORD)
        submit(form)
        wait_page(vpage, "availability")
        assert vpage.locator("html").get_attribute("lang") == locale

        # Availability, 08:00-13:00: on the event's weekday (else its shift would be refused)
        # and on Saturdays (the crew below); and a week off later in the year.
        day = (datetime.now(ZoneInfo(ORG_TIMEZONE)) + timedelta(days=1)).date()
        for weekday in sorted({day.weekday(), 5}):
            form = vpage.locator("main form").first
            form.locator("[name=weekday]").select_option(str(weekday))
            form.locator("[name=start_time]").fill("08:00")
            form.locator("[name=end_time]").fill("13:00")
            submit(form)
            expect(vpage.locator(".flash")).to_have_text(text["availability.saved"])
            vpage.locator(".flash").evaluate("flash => flash.remove()")  # the next one's own
        weekday = vpage.evaluate(
            "([l, iso]) => new Intl.DateTimeFormat(l, {weekday: 'long', timeZone: 'UTC'})"
            ".format(new Date(iso))",
            [locale, day.isoformat()],
        )
        assert weekday in vpage.locator("main table").first.inner_text()
        form = vpage.locator("main form").nth(1)
        form.locator("[name=starts_on]").fill("2030-08-01")
        form.locator("[name=ends_on]").fill("2030-08-07")
        form.locator("[name=reason]").fill("Holiday")
        submit(form)
        vpage.wait_for_selector("main table >> nth=1")
        assert "Holiday" in vpage.locator("main table").nth(1).inner_text()
        shot(vpage, "availability", screenshots)

        # Open shifts: only the roles they hold can be taken.
        open_page(vpage, base, "/open-shifts", "open-shifts")
        card = vpage.locator("article.shift", has_text=event_title)
        assert card.locator("button").count() == 1  # Usher, not Cook
        shot(vpage, "open-shifts", screenshots)
        shot(vpage, "phone-open-shifts", phone_shots)
        card.locator("button").click()
        vpage.wait_for_selector("main .flash:not([hidden])")
        assert vpage.locator(".flash").inner_text() == text["shifts.signed_up"]
        card = vpage.locator("article.shift", has_text=event_title)
        assert card.locator("button").count() == 0
        assert text["shifts.you_are_in"] in card.inner_text()

        # My schedule: the shift, at 09:00 organisation time (not Tokyo time).
        open_page(vpage, base, "/my-schedule", "my-schedule")
        row = vpage.locator("main tbody tr", has_text=event_title)
        assert "Usher" in row.inner_text()
        when = row.locator("td").nth(1).inner_text()
        assert "9:00" in when or "09:00" in when, when
        assert "12:00" in when, when
        shot(vpage, "my-schedule", screenshots)
        shot(vpage, "phone-my-schedule", phone_shots)

        # A weekly event on Saturdays (the volunteer's available day), twice, made from the
        # event form; the preview lists both dates before saving.
        today = datetime.now(ZoneInfo(ORG_TIMEZONE)).date()
        saturday = today + timedelta(days=2 + (5 - (today + timedelta(days=2)).weekday()) % 7)
        crew = f"Saturday crew {slug[-4:]}"
        open_page(page, base, "/events/new", "events-new")
        form = page.locator("main form")
        form.locator("[name=title]").fill(crew)
        form.locator("[name=starts_at]").fill(f"{saturday.isoformat()}T09:00")
        form.locator("[name=ends_at]").fill(f"{saturday.isoformat()}T12:00")
        form.locator("[name=status]").select_option("published")
        form.locator("[name='slots.0.role']").fill("Usher")
        form.locator("[name=repeat]").check()
        form.locator("[name=repeat_count]").fill("2")
        expect(form.locator(".preview-dates li")).to_have_count(2)
        assert form.locator("input[name=byday][value='5']").is_checked()
        submit(form)
        wait_page(page, "events")
        assert page.locator(".flash").inner_text() == render(locale, text["repeat.saved"], count=2)

        # The organiser runs the scheduler for the next four weeks, reviews and publishes.
        open_page(page, base, "/dashboard", "dashboard")
        page.locator("main a[href='#/schedule']").click()
        wait_page(page, "schedule")
        form = page.locator("main form").first
        submit(form)
        review = page.locator("main section.review[data-status=draft]")
        review.wait_for(timeout=60_000)
        crew_card = review.locator("article.plan-event", has_text=crew).first
        assert "Vera Volunteer" in crew_card.inner_text()
        cook = review.locator("article.plan-event", has_text=event_title).locator(
            "li.plan-slot", has_text="Cook"
        )
        assert text["plan.reason.no_qualified_person"] in cook.inner_text()
        assert review.locator("[data-testid=fairness]").is_visible()
        shot(page, "schedule", screenshots)
        review.locator("[data-testid=plan-actions] button").click()  # publish
        dialog = page.locator("dialog[open]")
        assert text["plan.confirm_publish"] in dialog.inner_text()
        dialog.locator("button[value=yes]").click()
        page.locator("main section.review[data-status=published]").wait_for()
        expect(page.locator(".flash")).to_have_text(text["plan.published"])

        # The volunteer finds the published shift in their schedule and accepts it.
        vpage.reload()  # already on My schedule: load it again
        wait_page(vpage, "my-schedule")
        row = vpage.locator("main tbody tr", has_text=crew).first
        assert row.locator("[data-status=pending]").count() == 1
        row.locator("button.primary").click()  # accept
        expect(vpage.locator(".flash")).to_have_text(text["schedule.accepted"])
        row = vpage.locator("main tbody tr", has_text=crew).first
        assert row.locator("[data-status=confirmed]").count() == 1

        # A calendar subscription link on the profile.
        open_page(vpage, base, "/profile", "profile")
        vpage.locator("main button", has_text=text["calendar.create"]).click()
        webcal = vpage.locator("[data-testid=webcal-link]")
        webcal.wait_for()
        assert (webcal.get_attribute("href") or "").startswith("webcal://")
        assert vpage.locator("#calendar-link-input").input_value().startswith("http")
        shot(vpage, "profile-calendar", screenshots)

        # The organiser's dashboard shows the coverage: 1 of 2 ushers, 0 of 1 cook.
        open_page(page, base, "/dashboard", "dashboard")
        coverage = page.locator("main tbody tr", has_text=event_title).inner_text()
        assert "1/2" in coverage, coverage  # ushers
        assert "0/1" in coverage, coverage  # cooks
        assert page.locator("[data-testid=unfilled-total]").inner_text() == "2"
        shot(page, "dashboard", screenshots)

        admin.assert_clean()
        volunteer.assert_clean()
    finally:
        admin_context.close()
        volunteer_context.close()
