"""Trusted hosts, security headers, CORS and signing-key rotation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from signupflow.app import create_app
from tests.factories import new_org
from tests.support.settings import make_settings

OLD_KEY = "old-signing-key-0123456789abcdefghijklmnopqrstuv"
NEW_KEY = "new-signing-key-zyxwvutsrqponmlkjihgfedcba987654"


def test_unknown_host_headers_are_refused_with_problem_json(client):
    response = client.get("/api/v1/me", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/me", headers={"host": "localhost:8000"}).status_code == 401


def test_probes_answer_whatever_address_they_are_sent_to(client):
    assert client.get("/health/live", headers={"host": "172.18.0.5:8000"}).status_code == 200


def test_responses_carry_security_headers(client):
    response = client.get("/api/v1/me")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # only behind TLS profiles


def test_cors_allows_only_configured_origins(database_url):
    settings = make_settings(database_url, cors_origins="https://app.example.org")
    with TestClient(create_app(settings)) as client:
        allowed = client.options(
            "/api/v1/me",
            headers={"origin": "https://app.example.org", "access-control-request-method": "GET"},
        )
        denied = client.options(
            "/api/v1/me",
            headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    assert "access-control-allow-origin" not in denied.headers


def test_a_rotated_signing_key_keeps_verifying_until_it_is_dropped(database_url):
    before = make_settings(database_url, secret_key=OLD_KEY)
    during = make_settings(database_url, secret_key=NEW_KEY, previous_secret_keys=OLD_KEY)
    after = make_settings(database_url, secret_key=NEW_KEY)
    with TestClient(create_app(before)) as client:
        org = new_org(client)
    with TestClient(create_app(during)) as client:
        assert client.get("/api/v1/me", headers=org.headers).status_code == 200
        fresh = new_org(client)  # signed with the new key
    with TestClient(create_app(after)) as client:
        assert client.get("/api/v1/me", headers=org.headers).status_code == 401
        assert client.get("/api/v1/me", headers=fresh.headers).status_code == 200


def test_an_answer_given_while_draining_closes_its_connection() -> None:
    """A request that began before the drain still tells its client to reconnect (elsewhere)
    when it answers during it: the header is decided when the answer starts."""
    import anyio

    from signupflow.ops.middleware import RequestContextMiddleware
    from signupflow.ops.shutdown import DRAIN

    async def slow_app(scope, receive, send):  # the drain begins while this request runs
        DRAIN.begin()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = RequestContextMiddleware(slow_app, allowed_hosts=["*"], hsts=False)
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/v1/me", "headers": []}
    try:
        anyio.run(app, scope, receive, send)
    finally:
        DRAIN.reset()
    assert (b"connection", b"close") in sent[0]["headers"]
