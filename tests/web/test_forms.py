"""A form that gets a 4xx keeps everything typed and says what is wrong next to the input it
concerns, in the interface's language."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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
    watch,
)


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(locale="es-ES", viewport=DESKTOP)
    yield context
    context.close()


def field_error(form: Any, name: str) -> str:
    control = form.locator(f"[name='{name}']")
    assert control.get_attribute("aria-invalid") == "true"
    error_id = control.get_attribute("id") + "-error"
    assert error_id in control.get_attribute("aria-describedby").split()
    text: str = form.locator(f"#{error_id}").inner_text()
    return text


def test_sign_up_errors_are_shown_by_their_fields_and_nothing_typed_is_lost(
    web_server: AppServer, context: Any
) -> None:
    text = messages("es")
    taken = api_signup(web_server.url)
    watched = watch(context.new_page())
    page = watched.page
    open_page(page, web_server.url, "/signup", "signup")
    form = page.locator("main form")
    typed = {
        "organisation_name": "Banco de alimentos",
        "slug": taken.slug,
        "name": "Lucía",
        "email": f"{unique('lucia')}@example.org",
        "password": "corta",
    }
    for name, value in typed.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("[name=timezone]").select_option("Europe/Madrid")

    submit(form)  # 422: the password is too short
    form.locator("[name=password][aria-invalid=true]").wait_for()
    assert field_error(form, "password") == text["error.field.too_short"]
    assert page.evaluate("document.activeElement.name") == "password"
    for name, value in typed.items():
        assert form.locator(f"[name={name}]").input_value() == value
    assert form.locator("[name=timezone]").input_value() == "Europe/Madrid"

    form.locator("[name=password]").fill(PASSWORD)
    submit(form)  # 409: the address is taken
    form.locator("[name=slug][aria-invalid=true]").wait_for()
    assert field_error(form, "slug") == text["signup.error.slug_taken"]
    assert form.locator("[name=password]").get_attribute("aria-invalid") is None
    assert form.locator("[name=password]").input_value() == PASSWORD
    assert form.locator("[name=email]").input_value() == typed["email"]
    watched.assert_clean()


def test_an_invalid_role_slot_is_marked_and_the_event_form_keeps_its_values(
    web_server: AppServer, context: Any
) -> None:
    text = messages("es")
    org = api_signup(web_server.url, locale="es")
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, "/events/new", "events-new")
    form = page.locator("main form")
    form.locator("[name=title]").fill("Reparto de comida")
    form.locator("[name=description]").fill("Traer guantes")
    form.locator("[name='slots.0.role']").fill("Cocina")
    form.locator("[name='slots.0.capacity']").fill("0")
    submit(form)
    form.locator("[name='slots.0.capacity'][aria-invalid=true]").wait_for()
    assert field_error(form, "slots.0.capacity") == text["error.field.range"]
    assert form.locator("[name=title]").input_value() == "Reparto de comida"
    assert form.locator("[name=description]").input_value() == "Traer guantes"
    assert form.locator("[name='slots.0.role']").input_value() == "Cocina"
    assert page.locator("main").get_attribute("data-page") == "events-new"
    watched.assert_clean()


def test_an_event_that_ends_first_and_an_empty_title_are_marked_at_their_fields(
    web_server: AppServer, context: Any
) -> None:
    # Once "Some of the values are not valid." with no field marked, and "This is too short."
    # for an empty required field (#16, point 5).
    text = messages("es")
    org = api_signup(web_server.url, locale="es")
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, "/events/new", "events-new")
    form = page.locator("main form")
    form.locator("[name=title]").fill("Reparto")
    form.locator("[name='slots.0.role']").fill("Cocina")
    form.locator("[name=starts_at]").fill("2031-05-04T12:00")
    form.locator("[name=ends_at]").fill("2031-05-04T10:00")
    submit(form)
    form.locator("[name=ends_at][aria-invalid=true]").wait_for()
    assert field_error(form, "ends_at") == text["problem.event.ends_before_start"]
    form.locator("[name=title]").fill("")
    form.locator("[name=ends_at]").fill("2031-05-04T14:00")
    submit(form)
    form.locator("[name=title][aria-invalid=true]").wait_for()
    assert field_error(form, "title") == text["error.field.missing"]
    watched.assert_clean()


def test_past_dates_are_asked_about_for_an_event_and_refused_for_time_off(
    web_server: AppServer, context: Any
) -> None:
    # An event in 2020 and time off in 2019 were once accepted without a word (#16, point 6).
    text = messages("es")
    org = api_signup(web_server.url, locale="es")
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, "/events/new", "events-new")
    form = page.locator("main form")
    form.locator("[name=title]").fill("Reparto")
    form.locator("[name='slots.0.role']").fill("Cocina")
    form.locator("[name=starts_at]").fill("2020-05-04T10:00")
    form.locator("[name=ends_at]").fill("2020-05-04T12:00")
    submit(form)
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    assert text["events.create_anyway"] in dialog.inner_text()
    dialog.locator("button[value=no]").click()
    events = httpx.get(f"{web_server.url}/api/v1/events", headers=org.headers).json()
    assert events["items"] == []  # cancelled: nothing made
    assert form.locator("[name=title]").input_value() == "Reparto"  # nothing lost

    open_page(page, web_server.url, "/availability", "availability")
    leave = page.locator("main form", has=page.locator("[name=starts_on]"))
    leave.locator("[name=starts_on]").fill("2019-07-01")
    leave.locator("[name=ends_on]").fill("2019-07-03")
    submit(leave)
    leave.locator("[name=ends_on][aria-invalid=true]").wait_for()
    assert field_error(leave, "ends_on").startswith(text["problem.time_off.in_past"].split("{")[0])
    watched.assert_clean()


def test_a_wrong_password_is_reported_and_the_e_mail_kept(
    web_server: AppServer, context: Any
) -> None:
    text = messages("es")
    org = api_signup(web_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    open_page(page, web_server.url, "/login", "login")
    form = page.locator("main form")
    form.locator("[name=email]").fill(org.admin_email)
    form.locator("[name=password]").fill("not the password")
    submit(form)
    alert = form.locator(".form-error")
    alert.wait_for()
    assert alert.inner_text() == text["login.error.credentials"]
    assert page.evaluate("document.activeElement.className") == "form-error"
    assert form.locator("[name=email]").input_value() == org.admin_email


def test_password_reset_is_requested_and_a_mismatched_new_password_is_caught(
    web_server: AppServer, context: Any
) -> None:
    text = messages("es")
    page = context.new_page()
    page.set_default_timeout(10_000)
    open_page(page, web_server.url, "/forgot-password", "forgot-password")
    form = page.locator("main form")
    form.locator("[name=email]").fill("someone@example.org")
    submit(form)
    outcome = page.locator("main .success:not([hidden])")
    outcome.wait_for()
    assert outcome.inner_text() == text["forgot.sent"]  # 202, whether or not the address exists
    assert page.locator("main .form-error:not([hidden])").count() == 0
    assert form.locator("[name=email]").input_value() == "someone@example.org"

    reset = "/reset-password?token=abcdefghijklmnopqrstuv"
    open_page(page, web_server.url, reset, "reset-password")
    form = page.locator("main form")
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("[name=confirm]").fill(PASSWORD + "x")
    submit(form)
    assert field_error(form, "confirm") == text["reset.mismatch"]
    assert form.locator("[name=password]").input_value() == PASSWORD


def test_a_conflict_is_shown_in_the_interface_language_with_its_values(
    web_server: AppServer, context: Any
) -> None:
    text = messages("es")
    org = api_signup(web_server.url, locale="es")
    taken = httpx.post(
        f"{web_server.url}/api/v1/teams", json={"name": "Cocina"}, headers=org.headers
    )
    assert taken.status_code == 201, taken.text
    watched = watch(context.new_page())
    page = watched.page
    log_in_browser(page, web_server.url, org.tokens)
    open_page(page, web_server.url, "/teams", "teams")
    form = page.locator("main form:not(details form)")  # the new team's, not an edit form
    form.locator("[name=name]").fill("Cocina")
    submit(form)  # 409 team.name_taken
    alert = form.locator(".form-error")
    alert.wait_for()
    # The code's Spanish message with the name filled in, and no English detail beside it.
    assert alert.inner_text() == text["problem.team.name_taken"].replace("{name}", "Cocina")
    assert alert.locator("[lang=en]").count() == 0
    assert form.locator("[name=name]").input_value() == "Cocina"
    # A code this app's locale files do not know (a newer server): the type's message instead.
    unknown = page.evaluate(
        """async () => {
          const { ApiError } = await import('/static/js/api.js');
          const { problemMessage } = await import('/static/js/forms.js');
          return problemMessage(new ApiError(409, { type: '/problems/conflict', code: 'x.new' }));
        }"""
    )
    assert unknown == text["error.conflict"]
    watched.assert_clean()
