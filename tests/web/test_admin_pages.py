"""Teams, organisation settings, a person's roles and access level, and the profile language,
each saved through the page and checked through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from harness.app_server import AppServer
from tests.web.browser import DESKTOP
from tests.web.support import (
    PASSWORD,
    api_signup,
    log_in_browser,
    messages,
    open_page,
    submit,
    unique,
    wait_page,
    watch,
)


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    yield context
    context.close()


def test_organiser_manages_teams_settings_people_and_profile(
    web_server: AppServer, context: Any
) -> None:
    org = api_signup(web_server.url)
    api = httpx.Client(base_url=f"{web_server.url}/api/v1", headers=org.headers)
    with api:
        invited = api.post(
            "/invitations", json={"email": f"s-{org.slug}@example.org", "name": "Sam"}
        )
        assert invited.status_code == 201, invited.text
        person_id = invited.json()["person_id"]
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, web_server.url, org.tokens)

        open_page(page, web_server.url, "/teams", "teams")
        form = page.locator("main form").first
        form.locator("[name=name]").fill("Kitchen")
        form.locator("fieldset label", has_text="Sam").click()
        submit(form)
        expect(page.locator(".flash")).to_have_text(messages("en")["teams.saved"])
        teams = api.get("/teams").json()["items"]
        assert [(t["name"], t["member_ids"]) for t in teams] == [("Kitchen", [person_id])]

        open_page(page, web_server.url, "/settings", "settings")
        form = page.locator("main form")
        form.locator("[name=name]").fill("Renamed org")
        form.locator("[name=timezone]").select_option("Australia/Sydney")
        submit(form)
        expect(page.locator(".flash")).to_have_text(messages("en")["settings.saved"])
        organisation = api.get("/organisation").json()
        assert (organisation["name"], organisation["timezone"]) == (
            "Renamed org",
            "Australia/Sydney",
        )

        open_page(page, web_server.url, f"/people/{person_id}", "people-id")
        form = page.locator("main form").first
        form.locator("[name=roles]").fill("Cook, Driver")
        submit(form)
        wait_page(page, "people")
        assert api.get(f"/people/{person_id}").json()["roles"] == ["Cook", "Driver"]
        assert page.locator("main form:not(:has([name=file]))").count() == 1  # invite only
        accepted = httpx.post(
            f"{web_server.url}/api/v1/invitations/accept",
            json={"token": invited.json()["token"], "password": PASSWORD},
        )
        assert accepted.status_code == 200, accepted.text
        sam = {"Authorization": f"Bearer {accepted.json()['access_token']}"}
        assert httpx.get(f"{web_server.url}/api/v1/me", headers=sam).json()["role"] == "volunteer"
        open_page(page, web_server.url, f"/people/{person_id}", "people-id")
        role_form = page.locator("main form").nth(1)
        role_form.locator("[name=role]").select_option("scheduler")
        submit(role_form)
        expect(page.locator(".flash")).to_have_text(messages("en")["person.role_saved"])
        assert httpx.get(f"{web_server.url}/api/v1/me", headers=sam).json()["role"] == "scheduler"

        open_page(page, web_server.url, "/profile", "profile")
        form = page.locator("main form").first
        form.locator("[name=language]").select_option("zh-Hant")
        submit(form)
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
        expect(page.locator("main h1")).to_have_text(messages("zh-Hant")["profile.title"])
        assert api.get("/me").json()["person"]["language"] == "zh-TW"
        watched.assert_clean()


def test_an_invitation_shows_in_the_lists_at_once_and_says_it_was_mailed(
    web_server: AppServer, context: Any
) -> None:
    text = messages("en")
    org = api_signup(web_server.url)
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, "/people", "people")
    form = page.locator("main form").first
    email = f"{unique('nina')}@example.org"
    form.locator("[name=name]").fill("Nina")
    form.locator("[name=email]").fill(email)
    submit(form)
    expect(page.locator("[data-testid=invited]")).to_have_text(
        f"{text['people.invited'].format(name='Nina')} "
        f"{text['people.invite_mailed'].format(email=email)}"
    )
    # No "show the updated list": the person and the open invitation are listed already.
    expect(page.locator("main tbody tr", has_text=email)).to_have_count(2)
    # The next attempt's error is not shown beside the previous invitation's link.
    form.locator("[name=name]").fill("Nina again")
    form.locator("[name=email]").fill("not an address")
    submit(form)
    expect(form.locator("[aria-invalid=true]")).to_have_count(1)
    expect(page.locator("#invite-link-input")).to_have_count(0)
    watched.assert_clean()


def test_a_team_lists_its_members_and_narrows_the_people_and_events_lists(
    web_server: AppServer, context: Any
) -> None:
    # Teams were an empty "Your teams" card and open forms that changed nothing (#16, 12).
    text = messages("en")
    org = api_signup(web_server.url)
    with httpx.Client(base_url=f"{web_server.url}/api/v1", headers=org.headers) as api:
        ana = api.post("/people", json={"name": "Ana", "email": f"{unique('ana')}@example.org"})
        api.post("/people", json={"name": "Ben", "email": f"{unique('ben')}@example.org"})
        team = api.post("/teams", json={"name": "Choir", "member_ids": [ana.json()["id"]]})
        for title, team_id in (("Choir practice", team.json()["id"]), ("Car park", None)):
            made = api.post(
                "/events",
                json={
                    "title": title,
                    "starts_at": "2031-05-04T10:00:00Z",
                    "ends_at": "2031-05-04T12:00:00Z",
                    "team_id": team_id,
                    "slots": [{"role": "usher", "capacity": 1}],
                },
            )
            assert made.status_code == 201, made.text
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, "/teams", "teams")
    card = page.locator("main article.team", has_text="Choir")
    expect(card.locator("[data-testid=team-members]")).to_have_text(
        text["teams.members_list"].format(names="Ana")
    )
    card.get_by_role("link", name=text["teams.its_people"]).click()
    page.wait_for_selector("main[data-page='people'] h1")
    people = page.locator("main section", has_text=text["people.everyone"]).locator("tbody tr")
    expect(people).to_have_count(1)
    expect(people).to_contain_text("Ana")
    expect(page.locator("main select[name=team]")).to_have_value(str(team.json()["id"]))
    open_page(page, web_server.url, f"/events?team={team.json()['id']}", "events")
    expect(page.locator("main tbody tr")).to_have_count(1)
    expect(page.locator("main tbody tr")).to_contain_text("Choir practice")
    page.locator("main select[name=team]").select_option("")
    expect(page.locator("main tbody tr")).to_have_count(2)
    watched.assert_clean()
