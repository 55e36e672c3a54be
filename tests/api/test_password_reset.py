"""Password reset: POST /auth/password-reset always answers 202; the mailed single-use token
sets a new password and ends every session."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from signupflow.app import create_app
from signupflow.db.session import unit_of_work
from signupflow.notifications.models import Notification, NotificationKind
from signupflow.password_reset.models import PasswordReset
from signupflow.worker.runner import Worker
from tests.factories import PASSWORD, bearer, invite_member, new_org, ok, unique
from tests.support.services import started_smtp
from tests.support.settings import make_settings
from tests.support.smtp_server import SmtpServer

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    yield from started_smtp()


@pytest.fixture(scope="module")
def app(database_url: str, smtp: SmtpServer) -> FastAPI:
    return create_app(
        make_settings(
            database_url,
            **smtp.settings,
            public_url="https://app.example.org",
            password_reset_requests_per_minute=3,
        )
    )


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def mailed_token(app: FastAPI, smtp: SmtpServer, email: str) -> str:
    Worker(app.state.settings, app.state.session_factory).run_once()
    received = smtp.handler.to(email)
    assert received, f"no reset e-mail to {email}"
    found = re.search(r"/#/reset-password\?token=([A-Za-z0-9_-]+)", received[-1].body)
    assert found, received[-1].body
    return found.group(1)


def reset_rows(app: FastAPI) -> int:
    with unit_of_work(app.state.session_factory) as session:
        return len(session.scalars(select(PasswordReset.id)).all())


def test_a_reset_sets_a_new_password_and_ends_every_session(
    client: TestClient, app: FastAPI, smtp: SmtpServer
) -> None:
    org = new_org(client)
    member = invite_member(org)
    other_login = ok(
        client.post(f"{API}/auth/login", json={"email": member.email, "password": PASSWORD})
    )

    response = client.post(f"{API}/auth/password-reset", json={"email": member.email.upper()})
    assert response.status_code == 202
    assert response.content == b""
    token = mailed_token(app, smtp, member.email)
    subjects = [r.message["Subject"] for r in smtp.handler.to(member.email)]
    assert subjects == [
        "You are invited to join " + f"Org {org.slug} on SignUpFlow",
        "Reset your SignUpFlow password",
    ]
    received = smtp.handler.to(member.email)[-1]
    assert "within 60 minutes" in received.body

    ok(
        client.post(
            f"{API}/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
        ),
        204,
    )
    # Every earlier session is over: access tokens and refresh tokens.
    assert client.get(f"{API}/me", headers=member.headers).status_code == 401
    for tokens in (member.tokens, other_login):
        refused = client.post(
            f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refused.status_code == 401
    old = client.post(f"{API}/auth/login", json={"email": member.email, "password": PASSWORD})
    assert old.status_code == 401
    fresh = ok(
        client.post(f"{API}/auth/login", json={"email": member.email, "password": NEW_PASSWORD})
    )
    assert ok(client.get(f"{API}/me", headers=bearer(fresh["access_token"])))

    # Single use.
    again = client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": "yet another one!"}
    )
    assert again.status_code == 400
    assert again.headers["content-type"] == PROBLEM_JSON
    assert again.json()["type"] == "/problems/invalid-reset-token"


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client: TestClient, app: FastAPI, smtp: SmtpServer
) -> None:
    email = f"{unique('nobody')}@example.org"
    before = reset_rows(app)
    response = client.post(f"{API}/auth/password-reset", json={"email": email})
    assert (response.status_code, response.content) == (202, b"")
    Worker(app.state.settings, app.state.session_factory).run_once()
    assert smtp.handler.to(email) == []
    assert reset_rows(app) == before


def test_an_expired_token_is_refused(client: TestClient, app: FastAPI, smtp: SmtpServer) -> None:
    org = new_org(client)
    ok(client.post(f"{API}/auth/password-reset", json={"email": org.email}), 202)
    token = mailed_token(app, smtp, org.email)
    with unit_of_work(app.state.session_factory) as session:
        session.execute(
            update(PasswordReset)
            .where(PasswordReset.used_at.is_(None))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    refused = client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert ok(client.post(f"{API}/auth/login", json={"email": org.email, "password": PASSWORD}))


def test_only_the_hash_of_the_token_is_stored_and_the_mail_forgets_it(
    client: TestClient, app: FastAPI, smtp: SmtpServer
) -> None:
    org = new_org(client)
    ok(client.post(f"{API}/auth/password-reset", json={"email": org.email}), 202)
    token = mailed_token(app, smtp, org.email)
    with unit_of_work(app.state.session_factory) as session:
        hashes = session.scalars(select(PasswordReset.token_hash)).all()
        payloads = session.scalars(
            select(Notification.payload).where(Notification.kind == NotificationKind.PASSWORD_RESET)
        ).all()
    assert token not in hashes
    assert all(token not in str(payload) for payload in payloads)


def test_requests_are_rate_limited_per_address(client: TestClient) -> None:
    email = f"{unique('limited')}@example.org"
    statuses = [
        client.post(f"{API}/auth/password-reset", json={"email": email}).status_code
        for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    limited = client.post(f"{API}/auth/password-reset", json={"email": email})
    assert limited.headers["content-type"] == PROBLEM_JSON
    assert int(limited.headers["Retry-After"]) >= 1


def test_known_and_unknown_addresses_take_about_as_long(client: TestClient) -> None:
    def median_ms(email_for: object) -> float:
        timings = []
        for _ in range(3):  # under the per-address limit: each call uses a fresh address
            email = email_for()  # type: ignore[operator]
            started = time.perf_counter()
            ok(client.post(f"{API}/auth/password-reset", json={"email": email}), 202)
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    known = median_ms(lambda: new_org(client).email)
    unknown = median_ms(lambda: f"{unique('ghost')}@example.org")
    # Same order of magnitude (a slow bcrypt on one path only would be ~100x).
    assert known < unknown * 10 + 20
    assert unknown < known * 10 + 20


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/password-reset", {"email": "not an address"}),
        ("/auth/password-reset", {}),
        ("/auth/password-reset/confirm", {"token": "short", "password": NEW_PASSWORD}),
        ("/auth/password-reset/confirm", {"token": "x" * 43, "password": "short"}),
        (
            "/auth/password-reset/confirm",
            {"token": "bad token with spaces!", "password": NEW_PASSWORD},
        ),
    ],
)
def test_bad_input_is_a_problem(client: TestClient, path: str, body: dict[str, str]) -> None:
    response = client.post(f"{API}{path}", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON


def test_an_unknown_token_is_refused(client: TestClient) -> None:
    response = client.post(
        f"{API}/auth/password-reset/confirm", json={"token": "A" * 43, "password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid-reset-token"


def test_confirming_claims_the_token_in_one_conditional_update(
    client: TestClient, app: FastAPI, smtp: SmtpServer
) -> None:
    org = new_org(client)
    ok(client.post(f"{API}/auth/password-reset", json={"email": org.email}), 202)
    token = mailed_token(app, smtp, org.email)
    engine = app.state.session_factory.kw["bind"]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        ok(
            client.post(
                f"{API}/auth/password-reset/confirm",
                json={"token": token, "password": NEW_PASSWORD},
            ),
            204,
        )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    touching = [s for s in statements if "password_resets" in s]
    # No read-then-write window: the token is checked and used by the same statement.
    assert touching[0].startswith("update password_resets set used_at")
    assert "returning" in touching[0]
    assert not [s for s in touching if s.startswith("select")]
