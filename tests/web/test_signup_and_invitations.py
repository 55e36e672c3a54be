"""Sign-up in the browser ends at "check your inbox"; the mailed link completes it. An
invitation to an address that has an account is accepted after logging in as it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.app_server import AppServer
from tests.support.signup import mailed_signup_token_in
from tests.web.browser import DESKTOP
from tests.web.support import (
    DATABASES,
    PASSWORD,
    api_signup,
    messages,
    open_page,
    submit,
    unique,
    wait_page,
    watch,
)


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(locale="es-ES", viewport=DESKTOP)
    yield context
    context.close()


def test_sign_up_asks_to_check_the_inbox_and_the_mailed_link_completes_it(
    web_server: AppServer, context: Any
) -> None:
    text = messages("es")
    watched = watch(context.new_page())
    page = watched.page
    open_page(page, web_server.url, "/signup", "signup")
    email = f"{unique('lucia')}@example.org"
    form = page.locator("main form")
    form.locator("[name=organisation_name]").fill("Banco de alimentos")
    form.locator("[name=slug]").fill(unique("banco"))
    form.locator("[name=name]").fill("Lucía")
    form.locator("[name=email]").fill(email)
    form.locator("[name=password]").fill(PASSWORD)
    submit(form)
    wait_page(page, "login")
    notice = page.locator("main .flash")
    notice.wait_for()
    assert notice.inner_text() == text["signup.check_inbox"].replace("{email}", email)

    token = mailed_signup_token_in(DATABASES[web_server.url], email)
    open_page(page, web_server.url, f"/signup/confirm?token={token}", "signup-confirm")
    submit(page.locator("main form"))
    wait_page(page, "dashboard")
    watched.assert_clean()


def test_an_existing_account_logs_in_and_then_accepts_the_invitation(
    web_server: AppServer, context: Any
) -> None:
    member, inviter = api_signup(web_server.url), api_signup(web_server.url)
    invitation = httpx.post(
        f"{web_server.url}/api/v1/invitations",
        headers=inviter.headers,
        json={"email": member.admin_email, "name": "Ada", "role": "volunteer"},
    )
    assert invitation.status_code == 201, invitation.text
    token = invitation.json()["token"]
    text = messages("es")
    watched = watch(context.new_page())
    page = watched.page
    open_page(page, web_server.url, f"/accept?token={token}", "accept")
    page.get_by_role("link", name=text["accept.log_in_first"]).click()
    wait_page(page, "login")
    form = page.locator("main form")
    form.locator("[name=email]").fill(member.admin_email)
    form.locator("[name=password]").fill(PASSWORD)
    submit(form)
    # Back on the invitation, logged in (now in the account's own language): no password.
    wait_page(page, "accept")
    page.locator("main form button[type=submit]").wait_for()
    assert page.locator("main form [name=password]").count() == 0
    submit(page.locator("main form"))
    wait_page(page, "availability")
    session = page.evaluate("JSON.parse(localStorage.getItem('signupflow.session'))")
    me = httpx.get(
        f"{web_server.url}/api/v1/me", headers={"Authorization": f"Bearer {session['access']}"}
    )
    assert me.json()["organisation"]["slug"] == inviter.slug
    watched.assert_clean()


def test_an_invitation_link_names_its_sender_and_once_used_leads_to_the_login(
    web_server: AppServer, context: Any, browser: Any
) -> None:
    inviter = api_signup(web_server.url)
    organisation = httpx.get(f"{web_server.url}/api/v1/organisation", headers=inviter.headers)
    email = f"{unique('rosa')}@example.org"
    invitation = httpx.post(
        f"{web_server.url}/api/v1/invitations",
        headers=inviter.headers,
        json={"email": email, "name": "Rosa", "role": "volunteer"},
    )
    assert invitation.status_code == 201, invitation.text
    link = f"/accept?token={invitation.json()['token']}"
    named = {"organisation": organisation.json()["name"], "email": email, "slug": inviter.slug}
    text = messages("es")
    watched = watch(context.new_page())
    page = watched.page
    open_page(page, web_server.url, link, "accept")
    state = page.locator("main [data-testid=invitation-state]")
    assert state.inner_text() == text["accept.invited"].format(**named)
    page.locator("main form [name=password]").fill(PASSWORD)
    submit(page.locator("main form"))
    wait_page(page, "availability")
    watched.assert_clean()

    # The same link again, on another device: not "expired", but "accepted, log in".
    other = browser.new_context(locale="es-ES", viewport=DESKTOP)
    try:
        again = watch(other.new_page())
        open_page(again.page, web_server.url, link, "accept")
        state = again.page.locator("main [data-testid=invitation-state]")
        assert state.inner_text() == text["accept.already_accepted"].format(**named)
        again.page.locator("main").get_by_role("link", name=text["nav.login"]).click()
        wait_page(again.page, "login")
        form = again.page.locator("main form")
        assert form.locator("[name=email]").input_value() == email
        assert form.locator("[name=organisation]").input_value() == inviter.slug
        again.assert_clean()
    finally:
        other.close()
