"""Small factories that build data through the public API, as a client would."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from signupflow.db.session import unit_of_work
from tests.support.signup import mailed_signup_token, signup_body

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


@dataclass
class Org:
    client: TestClient
    id: int
    slug: str
    email: str
    tokens: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.client.patch(path, headers=self.headers, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=self.headers, **kw)


def new_org(
    client: TestClient,
    *,
    timezone: str = "Europe/London",
    locale: str = "en",
    mailed_token: Callable[[str], str] | None = None,
) -> Org:
    """Sign up and confirm through the mailed link, as an organiser does. `mailed_token`
    reads the link's token for an address; by default from the in-process app's outbox."""
    slug = unique("org")
    email = f"admin@{slug}.example.org"
    body = signup_body(slug, email, PASSWORD, timezone=timezone, locale=locale)
    ok(client.post("/api/v1/auth/signup", json=body), 202)
    token = (mailed_token or (lambda address: signup_token(client, address)))(email)
    tokens = ok(client.post("/api/v1/auth/signup/confirm", json={"token": token}), 201)
    return Org(
        client, tokens["organisation_id"], slug, email, tokens, bearer(tokens["access_token"])
    )


def signup_token(client: TestClient, email: str) -> str:
    """The confirmation token mailed to `email`, from the app's outbox."""
    app: Any = client.app
    with unit_of_work(app.state.session_factory) as session:
        return mailed_signup_token(session, email)


def add_person(org: Org, *, roles: list[str] | None = None, name: str = "Volunteer") -> Any:
    return ok(
        org.post(
            "/api/v1/people",
            json={
                "name": name,
                "email": f"{unique('p')}@example.org",
                "roles": roles or ["usher"],
            },
        ),
        201,
    )


def add_event(
    org: Org,
    *,
    slots: list[dict[str, Any]] | None = None,
    status: str = "published",
    starts_in: timedelta = timedelta(days=7),
    **extra: Any,
) -> Any:
    starts = datetime.now(UTC).replace(microsecond=0) + starts_in
    body = {
        "title": "Sunday service",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "status": status,
        "slots": slots if slots is not None else [{"role": "usher", "capacity": 2}],
        **extra,
    }
    return ok(org.post("/api/v1/events", json=body), 201)


def invite_member(org: Org, *, role: str = "volunteer", roles: list[str] | None = None) -> Org:
    """Invite someone and accept as them; returns their logged-in view of the organisation."""
    email = f"{unique('member')}@example.org"
    invitation = ok(
        org.post(
            "/api/v1/invitations",
            json={
                "email": email,
                "name": "Member",
                "role": role,
                "roles": roles or ["usher"],
            },
        ),
        201,
    )
    tokens = ok(
        org.client.post(
            "/api/v1/invitations/accept",
            json={
                "token": invitation["token"],
                "password": PASSWORD,
            },
        )
    )
    return Org(org.client, org.id, org.slug, email, tokens, bearer(tokens["access_token"]))


def person_id_of(member: Org) -> int:
    person_id: int = ok(member.get("/api/v1/me"))["person"]["id"]
    return person_id


def problem_type(response: Any, status: int = 409) -> str:
    """The problem type of an error answer, after checking its status and media type."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    kind: str = response.json()["type"]
    return kind


def slot_of(org: Org, event_id: int, role: str = "usher") -> Any:
    event = ok(org.get(f"/api/v1/events/{event_id}"))
    return next(s for s in event["slots"] if s["role"] == role)


def make_calendar_links(org: Org, *members: Org, person_ids: tuple[int, ...] = ()) -> None:
    """Every calendar link a read can ask for: the organisation's, each member's own and the
    people's in `person_ids` (reading a link never made is a 404 of its own)."""
    ok(org.put("/api/v1/calendar/feeds/organisation"))
    for member in (org, *members):
        ok(member.put("/api/v1/calendar/feeds/me"))
    for person_id in person_ids:
        ok(org.put(f"/api/v1/people/{person_id}/calendar-feed"))
