"""Logs are one JSON object per line with the request context and never carry secrets or
full e-mail addresses; metrics are served only with their token."""

from __future__ import annotations

import json

import httpx

from harness.app_server import STRONG_KEY
from tests.support.signup import mailed_signup_token_in

PASSWORD = "a-secret-passphrase-77"
NEW_PASSWORD = "another-secret-passphrase-88"
METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def _full_session(url: str, database_url: str) -> dict[str, str]:
    """A realistic run touching every sensitive value; returns what must never be logged."""
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post(
            "/api/v1/auth/signup",
            json={
                "organisation_name": "Logs",
                "slug": "logs",
                "name": "Ada",
                "password": PASSWORD,
                "email": "ada.lovelace@logs-example.org",
            },
        )
        signup_token = mailed_signup_token_in(database_url, "ada.lovelace@logs-example.org")
        tokens = client.post("/api/v1/auth/signup/confirm", json={"token": signup_token}).json()
        client.post(
            "/api/v1/auth/login",
            json={"email": "ada.lovelace@logs-example.org", "password": "wrong-password-99"},
        )
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        client.post(
            "/api/v1/people",
            headers=headers,
            json={"name": "Grace", "email": "grace.hopper@logs-example.org"},
        )
        invitation = client.post(
            "/api/v1/invitations",
            headers=headers,
            json={"email": "alan.turing@logs-example.org", "name": "Alan"},
        ).json()
        accepted = client.post(
            "/api/v1/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
        ).json()
        client.get("/api/v1/people/999999", headers=headers)
        rotated = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        ).json()
        changed = client.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        ).json()
        client.post(
            "/api/v1/auth/logout", headers={"Authorization": f"Bearer {changed['access_token']}"}
        )
    return {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "wrong password": "wrong-password-99",
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "rotated token": rotated["refresh_token"],
        "invitation token": invitation["token"],
        "sign-up token": signup_token,
        "accepted token": accepted["access_token"],
        "secret key": STRONG_KEY,
        "e-mail": "ada.lovelace@",
        "other e-mail": "grace.hopper@",
        "invitee": "alan.turing@",
    }


def test_logs_are_json_lines_with_request_context_and_no_secrets(prod_env, launch):
    app = launch({**prod_env, "LOG_LEVEL": "DEBUG"})
    forbidden = _full_session(app.url, prod_env["DATABASE_URL"])
    echoed = httpx.get(f"{app.url}/health/live", headers={"X-Request-ID": "trace-abc-123"})
    assert echoed.headers["x-request-id"] == "trace-abc-123"
    generated = httpx.get(f"{app.url}/health/live").headers["x-request-id"]
    assert len(generated) == 32
    assert app.stop() == 0

    text = app.logs()
    for name, value in forbidden.items():
        assert value not in text, f"the {name} appears in the logs"
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    requests = [e for e in entries if e["logger"] == "signupflow.request"]
    assert len(requests) >= 10
    for entry in requests:
        assert {
            "timestamp",
            "level",
            "message",
            "request_id",
            "method",
            "route",
            "status",
            "latency_ms",
        } <= set(entry)
    people = next(e for e in requests if e["route"] == "/api/v1/people/{person_id}")
    assert people["status"] == 404
    assert people["organisation_id"] is not None
    assert people["user_id"] is not None
    assert any(e["request_id"] == "trace-abc-123" for e in requests)


def test_metrics_need_their_token_and_count_requests_by_route(prod_env, launch):
    app = launch({**prod_env, "METRICS_TOKEN": METRICS_TOKEN}, workers=2)
    for _ in range(7):
        httpx.get(f"{app.url}/health/live")
    assert httpx.get(f"{app.url}/metrics").status_code == 404
    assert (
        httpx.get(f"{app.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code
        == 404
    )
    scrape = httpx.get(f"{app.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scrape.status_code == 200
    counted = [
        line
        for line in scrape.text.splitlines()
        if line.startswith("signupflow_http_requests_total{")
        and 'route="/health/live"' in line
        and 'status="200"' in line
    ]
    # Both workers' counts are merged, whichever worker answered the scrape.
    assert sum(float(line.rsplit(" ", 1)[1]) for line in counted) >= 7
    assert "signupflow_http_request_duration_seconds_bucket" in scrape.text
    assert "signupflow_db_pool_connections{pid=" in scrape.text or (
        "signupflow_db_pool_connections{" in scrape.text
    )
