"""What the browser tests share: the environment of their server, locale-independent selectors
(input names, data-page), the messages of a locale, and a page that records console errors and
CSP violations."""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support.signup import mailed_signup_token_in, signup_body

WEB = Path(__file__).resolve().parents[2] / "web"
PASSWORD = "correct horse battery"
# Chromium logs every 4xx response; the tests that provoke one check what the page shows.
EXPECTED_4XX = "Failed to load resource: the server responded with a status of 4"
# Text a page must never show: a value the code failed to fill in (issue #16).
PLACEHOLDER = re.compile(r"\b(?:null|undefined|NaN)\b|\[object Object\]|\{\w+\}")


def server_env(data: Path) -> dict[str, str]:
    """The environment of a test server (and its worker) with its SQLite database in `data`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "DATABASE_", "REDIS_", "SECRET_", "PROMETHEUS_", "METRICS_"))
    }
    env.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": f"sqlite:///{data / 'signupflow.db'}",
            "AUTO_MIGRATE": "true",
            "LOAD_DEMO": "false",
            "BCRYPT_ROUNDS": "4",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOGIN_ATTEMPTS_PER_MINUTE": "1000",
            "SIGNUP_REQUESTS_PER_MINUTE": "1000",
            "STORAGE_PATH": str(data),
            "DRAIN_DELAY_S": "0",
            "SHUTDOWN_TIMEOUT_S": "5",
        }
    )
    return env


def messages(locale: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((WEB / "locales" / f"{locale}.json").read_text("utf-8"))
    return data


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Watched:
    """A page whose console errors, uncaught exceptions and failed requests are kept."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors


def watch(page: Any) -> Watched:
    page.set_default_timeout(10_000)
    watched = Watched(page)
    page.on(
        "console",
        lambda message: (
            watched.errors.append(message.text)
            if message.type == "error" and not message.text.startswith(EXPECTED_4XX)
            else None
        ),
    )
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    return watched


def open_page(page: Any, base_url: str, route: str, name: str) -> None:
    """Go to a client route and wait until its page module has rendered."""
    page.goto(f"{base_url}/#{route}")
    page.wait_for_selector(f"main[data-page='{name}'] h1")


def wait_page(page: Any, name: str) -> None:
    page.wait_for_selector(f"main[data-page='{name}'] h1")


def submit(form: Any) -> None:
    form.locator("button[type=submit]").click()


@dataclass
class Org:
    base_url: str
    slug: str
    admin_email: str
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


# The database each test server owns, by its URL: sign-up confirmations are read from it.
DATABASES: dict[str, str] = {}


def api_signup(base_url: str, *, timezone: str = "UTC", locale: str = "en") -> Org:
    """Sign up and follow the mailed confirmation link, as an organiser does."""
    slug = unique("org")
    email = f"admin-{slug}@example.org"
    body = signup_body(slug, email, PASSWORD, timezone=timezone, locale=locale, name="Ada Admin")
    response = httpx.post(f"{base_url}/api/v1/auth/signup", json=body)
    assert response.status_code == 202, response.text
    token = mailed_signup_token_in(DATABASES[base_url], email)
    response = httpx.post(f"{base_url}/api/v1/auth/signup/confirm", json={"token": token})
    assert response.status_code == 201, response.text
    return Org(base_url, slug, email, response.json())


def log_in_browser(page: Any, base_url: str, tokens: dict[str, Any]) -> None:
    """Store a session the way the app's api.js does, without typing the login form."""
    page.goto(f"{base_url}/#/login")
    page.wait_for_selector("main[data-page='login'] h1")
    session = {
        "access": tokens["access_token"],
        "refresh": tokens["refresh_token"],
        "organisationId": tokens["organisation_id"],
    }
    page.evaluate("s => localStorage.setItem('signupflow.session', JSON.stringify(s))", session)
    page.reload()  # the app reads the session when it starts
    page.wait_for_selector("#logout:not([hidden])")


def volunteer(
    api: httpx.Client, base: str, name: str, *, role: str = "volunteer"
) -> dict[str, Any]:
    """Invited as an usher and accepted: their tokens and person id."""
    email = f"{name.lower()}-{id(api)}@example.org"
    invited = api.post(
        "/invitations", json={"email": email, "name": name, "roles": ["Usher"], "role": role}
    )
    assert invited.status_code == 201, invited.text
    accepted = httpx.post(
        f"{base}/api/v1/invitations/accept",
        json={"token": invited.json()["token"], "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    return {"tokens": accepted.json(), "person_id": invited.json()["person_id"]}


def published_event(
    api: httpx.Client, title: str, *, capacity: int = 1, days: int = 3, hours: int = 2
) -> dict[str, Any]:
    """A published event `days` from now with one Usher slot of `capacity` places."""
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    created = api.post(
        "/events",
        json={
            "title": title,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=hours)).isoformat(),
            "status": "published",
            "slots": [{"role": "Usher", "capacity": capacity}],
        },
    )
    assert created.status_code == 201, created.text
    event: dict[str, Any] = created.json()
    return event
