from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

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


def test_signup_refuses_a_taken_slug_and_a_registered_email(client):
    org = new_org(client)
    body = {
        "organisation_name": "X",
        "slug": org.slug,
        "name": "A",
        "email": f"{unique('x')}@example.org",
        "password": PASSWORD,
    }
    assert _problem(client.post("/api/v1/auth/signup", json=body), 409)["detail"]
    body |= {"slug": unique("free"), "email": org.email}
    _problem(client.post("/api/v1/auth/signup", json=body), 409)


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


def test_refresh_rotates_and_a_replayed_refresh_token_ends_the_session(client):
    org = new_org(client)
    first = org.tokens["refresh_token"]
    rotated = ok(client.post("/api/v1/auth/refresh", json={"refresh_token": first}))
    assert rotated["refresh_token"] != first
    ok(client.get("/api/v1/me", headers=bearer(rotated["access_token"])))
    _problem(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 401)
    # The replay revoked the whole session, including the token issued by the rotation.
    _problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}), 401
    )
    _problem(client.get("/api/v1/me", headers=bearer(rotated["access_token"])), 401)


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
    _problem(
        client.post(
            "/api/v1/invitations/accept",
            json={"token": invitation["token"], "password": "not-my-password"},
        ),
        401,
    )
    ok(
        client.post(
            "/api/v1/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
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
