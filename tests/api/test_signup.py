"""Sign-up: the same answer for known and unknown addresses; the organisation exists once
the mailed link is followed, which works once and expires."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from signupflow.app import create_app
from signupflow.auth.models import PendingSignUp, User
from signupflow.db.session import unit_of_work
from signupflow.notifications.models import Notification, NotificationKind
from signupflow.organisations.models import Organisation
from signupflow.worker.runner import Worker
from tests.factories import PASSWORD, new_org, ok, signup_token, unique
from tests.support.concurrency import Call, all_at_once
from tests.support.services import started_smtp
from tests.support.settings import make_settings
from tests.support.signup import signup_body
from tests.support.smtp_server import SmtpServer

API = "/api/v1"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    yield from started_smtp()


@pytest.fixture(scope="module")
def mailing(database_url: str, smtp: SmtpServer) -> Iterator[TestClient]:
    app = create_app(
        make_settings(database_url, **smtp.settings, public_url="https://app.example.org")
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _count(app: FastAPI, model: type, **where: object) -> int:
    with unit_of_work(app.state.session_factory) as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(session.scalar(stmt) or 0)


def test_signup_answers_the_same_for_a_known_and_an_unknown_address(client, app):
    known = new_org(client)
    pending_before = _count(app, PendingSignUp, email=known.email)
    slug = unique("again")
    for_known = client.post(f"{API}/auth/signup", json=signup_body(slug, known.email, PASSWORD))
    unknown = f"{unique('fresh')}@example.org"
    for_unknown = client.post(f"{API}/auth/signup", json=signup_body(slug, unknown, PASSWORD))
    assert (for_known.status_code, for_unknown.status_code) == (202, 202)
    assert for_known.json().keys() == for_unknown.json().keys()
    assert for_known.json()["confirm_within_s"] == for_unknown.json()["confirm_within_s"]
    # Nothing exists until the link is followed; the known address got no second account.
    assert _count(app, Organisation, slug=slug) == 0
    assert _count(app, User, email=known.email) == 1
    assert _count(app, PendingSignUp, email=known.email) == pending_before


def test_the_mailed_link_creates_the_organisation_once(client, app):
    slug, email = unique("org"), f"{unique('admin')}@example.org"
    ok(client.post(f"{API}/auth/signup", json=signup_body(slug, email, PASSWORD)), 202)
    token = signup_token(client, email)
    tokens = ok(client.post(f"{API}/auth/signup/confirm", json={"token": token}), 201)
    me = ok(client.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert (me["role"], me["organisation"]["slug"], me["email"]) == ("admin", slug, email)
    used = client.post(f"{API}/auth/signup/confirm", json={"token": token})
    assert (used.status_code, used.json()["code"]) == (404, "signup.link_unusable")
    ok(client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD}))
    # No copy of the password hash outlives the confirmation.
    assert _count(app, PendingSignUp, email=email) == 0


def test_known_and_unknown_addresses_take_about_as_long_to_sign_up(client):
    def median_ms(email_for: Callable[[], str]) -> float:
        timings = []
        for _ in range(3):
            body = signup_body(unique("timing"), email_for(), PASSWORD)
            started = time.perf_counter()
            ok(client.post(f"{API}/auth/signup", json=body), 202)
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    known = median_ms(lambda: new_org(client).email)
    unknown = median_ms(lambda: f"{unique('ghost')}@example.org")
    # Same order of magnitude (a bcrypt hash on one path only would be ~100x).
    assert known < unknown * 10 + 20
    assert unknown < known * 10 + 20


def test_an_expired_link_creates_nothing(client, app):
    slug, email = unique("late"), f"{unique('admin')}@example.org"
    ok(client.post(f"{API}/auth/signup", json=signup_body(slug, email, PASSWORD)), 202)
    token = signup_token(client, email)
    with unit_of_work(app.state.session_factory) as session:
        session.execute(
            update(PendingSignUp)
            .where(PendingSignUp.email == email)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = client.post(f"{API}/auth/signup/confirm", json={"token": token})
    assert (expired.status_code, expired.json()["code"]) == (404, "signup.link_unusable")
    assert _count(app, Organisation, slug=slug) == 0


def test_a_slug_taken_before_confirmation_is_a_conflict_at_confirmation(client):
    slug = unique("race")
    first, second = f"{unique('a')}@example.org", f"{unique('b')}@example.org"
    ok(client.post(f"{API}/auth/signup", json=signup_body(slug, first, PASSWORD)), 202)
    ok(client.post(f"{API}/auth/signup", json=signup_body(slug, second, PASSWORD)), 202)
    ok(client.post(f"{API}/auth/signup/confirm", json={"token": signup_token(client, first)}), 201)
    late = client.post(f"{API}/auth/signup/confirm", json={"token": signup_token(client, second)})
    assert (late.status_code, late.json()["code"]) == (409, "organisation.slug_taken")


def test_two_sign_ups_of_one_slug_confirmed_at_once_create_one_organisation(client, live_url):
    slug = unique("race")
    emails = [f"{unique('a')}@example.org", f"{unique('b')}@example.org"]
    for email in emails:
        ok(client.post(f"{API}/auth/signup", json=signup_body(slug, email, PASSWORD)), 202)
    calls: list[Call] = [
        ("POST", f"{API}/auth/signup/confirm", {}, {"token": signup_token(client, email)})
        for email in emails
    ]
    answers = all_at_once(live_url, calls)
    assert sorted(status for status, _ in answers) == [201, 409], answers
    assert {body["code"] for status, body in answers if status == 409} == {
        "organisation.slug_taken"
    }
    assert _count(client.app, Organisation, slug=slug) == 1


def test_the_confirmation_and_the_existing_account_mails_say_what_to_do(
    mailing: TestClient, smtp: SmtpServer
) -> None:
    app: FastAPI = mailing.app  # type: ignore[assignment]
    email, slug = f"{unique('mailed')}@example.org", unique("mailed")
    ok(
        mailing.post(f"{API}/auth/signup", json=signup_body(slug, email, PASSWORD, locale="fr")),
        202,
    )
    Worker(app.state.settings, app.state.session_factory).run_once()
    [confirm] = smtp.handler.to(email)
    assert "Confirmez votre inscription" in confirm.message["Subject"]
    link = re.search(
        r"https://app\.example\.org/#/signup/confirm\?token=([A-Za-z0-9_-]+)", confirm.body
    )
    assert link, confirm.body
    ok(mailing.post(f"{API}/auth/signup/confirm", json={"token": link.group(1)}), 201)

    ok(mailing.post(f"{API}/auth/signup", json=signup_body(unique("other"), email, PASSWORD)), 202)
    Worker(app.state.settings, app.state.session_factory).run_once()
    existing = smtp.handler.to(email)[-1]
    assert existing.message["Subject"] == "You already have a SignUpFlow account"
    assert "https://app.example.org/#/login" in existing.body
    assert "https://app.example.org/#/forgot-password" in existing.body
    with unit_of_work(app.state.session_factory) as session:
        kinds = session.scalars(
            select(Notification.kind).where(Notification.organisation_id.is_(None))
        ).all()
    assert NotificationKind.SIGNUP_EXISTING in kinds
