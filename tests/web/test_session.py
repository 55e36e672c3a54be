"""api.js keeps the session going with the refresh token, and logging out ends it on the
server as well as in the browser."""

from __future__ import annotations

from typing import Any

import httpx

from harness.app_server import AppServer
from tests.web.browser import DESKTOP
from tests.web.support import api_signup, log_in_browser, open_page, wait_page, watch

STORED_SESSION = "JSON.parse(localStorage.getItem('signupflow.session'))"


def test_an_expired_access_token_is_refreshed_without_bothering_the_user(
    web_server: AppServer, browser: Any
) -> None:
    org = api_signup(web_server.url)
    stale = {**org.tokens, "access_token": "expired-or-forged-access-token"}
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    try:
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, web_server.url, stale)
        open_page(page, web_server.url, "/dashboard", "dashboard")
        stored = page.evaluate(STORED_SESSION)
        assert stored["access"] != stale["access_token"]
        assert stored["refresh"] != org.tokens["refresh_token"]  # rotated
        me = httpx.get(
            f"{web_server.url}/api/v1/me", headers={"Authorization": f"Bearer {stored['access']}"}
        )
        assert me.status_code == 200
    finally:
        context.close()


def test_logging_out_ends_the_session_on_the_server(web_server: AppServer, browser: Any) -> None:
    org = api_signup(web_server.url)
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    try:
        watched = watch(context.new_page())
        page = watched.page
        log_in_browser(page, web_server.url, org.tokens)
        open_page(page, web_server.url, "/dashboard", "dashboard")
        page.locator("#logout").click()
        wait_page(page, "login")
        assert page.evaluate(STORED_SESSION) is None
        assert page.locator("#logout").is_hidden()
        refresh = httpx.post(
            f"{web_server.url}/api/v1/auth/refresh",
            json={"refresh_token": org.tokens["refresh_token"]},
        )
        assert refresh.status_code == 401
        # A protected page now asks to log in, and comes back to it afterwards.
        page.goto(f"{web_server.url}/#/teams")
        wait_page(page, "login")
        assert "next=%2Fteams" in page.url
        watched.assert_clean()
    finally:
        context.close()
