from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select, update

from signupflow.auth.models import RefreshToken
from signupflow.auth.successor import unseal
from signupflow.auth.tokens import digest
from signupflow.db.session import unit_of_work
from tests.factories import PASSWORD, bearer, invite_member, new_org, ok, unique


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    return body


def test_signup_creates_the_organisation_and_logs_its_admin_in(client):
    org = new_org(client, timezone="America/Chicago")
    me = ok(org.get("/api/v1/me"))
    assert me["role"] == "admin"
    assert me["organisation"]["slug"] == org.slug
    assert me["organisation"]["timezone"] == "America/Chicago"
    assert me["person"]["email"] == org.email


def test_signup_refuses_a_taken_slug(client):
    org = new_org(client)
    body = {
        "organisation_name": "X",
        "slug": org.slug,
        "name": "A",
        "email": f"{unique('x')}@example.org",
        "password": PASSWORD,
    }
    assert _problem(client.post("/api/v1/auth/signup", json=body), 409)["code"] == (
        "organisation.slug_taken"
    )


def test_signup_rejects_unknown_time_zone_and_weak_password(client):
    body = {
        "organisation_name": "X",
        "slug": unique("tz"),
        "name": "A",
        "email": f"{unique('x')}@example.org",
        "password": PASSWORD,
        "timezone": "Mars/Olympus",
    }
    errors = _problem(client.post("/api/v1/auth/signup", json=body), 422)["errors"]
    assert errors[0]["loc"][-1] == "timezone"
    body |= {"timezone": "UTC", "password": "short"}
    _problem(client.post("/api/v1/auth/signup", json=body), 422)


def test_login_with_a_wrong_password_or_unknown_email_is_the_same_401(client):
    org = new_org(client)
    wrong = _problem(
        client.post("/api/v1/auth/login", json={"email": org.email, "password": "nope-nope"}), 401
    )
    unknown = _problem(
        client.post(
            "/api/v1/auth/login", json={"email": "ghost@example.org", "password": "nope-nope"}
        ),
        401,
    )
    assert wrong["detail"] == unknown["detail"]


def test_requests_without_or_with_a_forged_token_are_refused(client):
    _problem(client.get("/api/v1/me"), 401)
    forged = jwt.encode(
        {
            "sub": "1",
            "org": 1,
            "ver": 1,
            "sid": "x",
            "iss": "signupflow",
            "iat": datetime.now(UTC),
            "exp": datetime.now(UTC) + timedelta(minutes=5),
        },
        "not-the-server-key-but-long-enough-1234",
        algorithm="HS256",
    )
    _problem(client.get("/api/v1/me", headers=bearer(forged)), 401)


def test_an_expired_access_token_is_refused(client, settings):
    org = new_org(client)
    claims = jwt.decode(org.tokens["access_token"], options={"verify_signature": False})
    claims["exp"] = datetime.now(UTC) - timedelta(seconds=1)
    expired = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    assert "expired" in _problem(client.get("/api/v1/me", headers=bearer(expired)), 401)["detail"]


def test_refresh_rotates_and_a_replay_after_the_successor_was_used_ends_the_session(client):
    org = new_org(client)
    first = org.tokens["refresh_token"]
    rotated = ok(client.post("/api/v1/auth/refresh", json={"refresh_token": first}))
    assert rotated["refresh_token"] != first
    ok(client.get("/api/v1/me", headers=bearer(rotated["access_token"])))
    again = ok(
        client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    )
    assert _problem(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 401)[
        "code"
    ] == ("auth.refresh_reused")
    # The replay revoked the whole session, including the latest token.
    _problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": again["refresh_token"]}), 401
    )
    _problem(client.get("/api/v1/me", headers=bearer(again["access_token"])), 401)


def test_a_refresh_token_presented_twice_within_the_grace_window_gets_the_same_successor(client):
    org = new_org(client)
    first = org.tokens["refresh_token"]
    one = ok(client.post("/api/v1/auth/refresh", json={"refresh_token": first}))
    two = ok(client.post("/api/v1/auth/refresh", json={"refresh_token": first}))
    assert two["refresh_token"] == one["refresh_token"]
    assert two["organisation_id"] == org.id
    # Both tabs carry on in the same session: nothing was revoked.
    ok(client.get("/api/v1/me", headers=bearer(one["access_token"])))
    ok(client.get("/api/v1/me", headers=bearer(two["access_token"])))
    ok(client.post("/api/v1/auth/refresh", json={"refresh_token": two["refresh_token"]}))


def test_a_refresh_token_replayed_after_the_grace_window_ends_the_session(client, app):
    org = new_org(client)
    first = org.tokens["refresh_token"]
    rotated = ok(client.post("/api/v1/auth/refresh", json={"refresh_token": first}))
    grace = app.state.settings.refresh_reuse_grace_s
    with unit_of_work(app.state.session_factory) as session:
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == digest(first))
            .values(used_at=datetime.now(UTC) - timedelta(seconds=grace + 1))
        )
    _problem(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 401)
    _problem(client.get("/api/v1/me", headers=bearer(rotated["access_token"])), 401)


def test_the_stored_successor_is_useless_without_the_token_it_was_sealed_under(client, app):
    org = new_org(client)
    first = org.tokens["refresh_token"]
    rotated = ok(client.post("/api/v1/auth/refresh", json={"refresh_token": first}))
    with unit_of_work(app.state.session_factory) as session:
        sealed = session.scalars(
            select(RefreshToken.successor_sealed).where(RefreshToken.token_hash == digest(first))
        ).one()
    assert sealed is not None
    assert rotated["refresh_token"] not in sealed
    assert unseal(sealed, under=first) == rotated["refresh_token"]
    assert unseal(sealed, under=rotated["refresh_token"]) != rotated["refresh_token"]


def test_logout_revokes_that_session_but_not_other_sessions(client):
    org = new_org(client)
    other = ok(client.post("/api/v1/auth/login", json={"email": org.email, "password": PASSWORD}))
    assert client.post("/api/v1/auth/logout", headers=org.headers).status_code == 204
    _problem(client.get("/api/v1/me", headers=org.headers), 401)
    _problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": org.tokens["refresh_token"]}),
        401,
    )
    ok(client.get("/api/v1/me", headers=bearer(other["access_token"])))


def test_password_change_ends_every_other_session(client):
    org = new_org(client)
    other = ok(client.post("/api/v1/auth/login", json={"email": org.email, "password": PASSWORD}))
    new_password = "a much better passphrase"
    _problem(
        org.post(
            "/api/v1/auth/password",
            json={"current_password": "wrong-one", "new_password": new_password},
        ),
        401,
    )
    fresh = ok(
        org.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": new_password},
        )
    )
    _problem(client.get("/api/v1/me", headers=bearer(other["access_token"])), 401)
    _problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}), 401
    )
    ok(client.get("/api/v1/me", headers=bearer(fresh["access_token"])))
    _problem(
        client.post("/api/v1/auth/login", json={"email": org.email, "password": PASSWORD}), 401
    )
    ok(client.post("/api/v1/auth/login", json={"email": org.email, "password": new_password}))


def test_volunteers_cannot_use_scheduler_or_admin_endpoints(client):
    org = new_org(client)
    volunteer = invite_member(org)
    assert _problem(volunteer.get("/api/v1/people"), 403)["type"] == "/problems/forbidden"
    _problem(volunteer.post("/api/v1/events", json={}), 403)
    _problem(volunteer.get("/api/v1/audit"), 403)
    scheduler = invite_member(org, role="scheduler")
    ok(scheduler.get("/api/v1/people"))
    _problem(
        scheduler.post("/api/v1/invitations", json={"email": "x@example.org", "name": "X"}), 403
    )


def test_a_member_of_two_organisations_chooses_one_at_login(client):
    first = new_org(client)
    second = new_org(client)
    invitation = ok(
        second.post(
            "/api/v1/invitations", json={"email": first.email, "name": "Both", "role": "scheduler"}
        ),
        201,
    )
    ok(
        client.post(
            "/api/v1/invitations/accept",
            json={"token": invitation["token"]},
            headers=first.headers,
        )
    )
    default = ok(
        client.post("/api/v1/auth/login", json={"email": first.email, "password": PASSWORD})
    )
    assert default["organisation_id"] == first.id
    chosen = ok(
        client.post(
            "/api/v1/auth/login",
            json={"email": first.email, "password": PASSWORD, "organisation": second.slug},
        )
    )
    me = ok(client.get("/api/v1/me", headers=bearer(chosen["access_token"])))
    assert (me["organisation"]["id"], me["role"]) == (second.id, "scheduler")
