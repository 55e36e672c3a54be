"""/health is the operators' contract, in healthy, degraded and failed states."""

from __future__ import annotations

import time

import httpx

HEALTH_KEYS = {"status", "timestamp", "version", "release", "uptime", "components", "checks"}


def _health(url: str) -> httpx.Response:
    return httpx.get(f"{url}/health", timeout=10)


def _settled(url: str, status: str) -> httpx.Response:
    """/health serves probe results up to a few seconds old (ProbeCache): the first answer
    after a dependency stops may still be the previous state."""
    deadline = time.monotonic() + 10
    while True:
        response = _health(url)
        if response.json()["status"] == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def _wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def test_health_reports_every_component_and_hides_internals(prod_env, launch):
    app = launch(prod_env)
    response = _health(app.url)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert body["status"] == "healthy"
    components = body["components"]
    assert set(components) == {"api", "database", "redis", "storage"}
    assert components["database"]["status"] == "healthy"
    assert set(components["database"]["pool"]) == {"active", "idle", "max"}
    assert components["database"]["pool"]["max"] == 20
    assert components["redis"]["backend"] == "redis"
    assert 0 <= components["storage"]["disk_usage_percent"] <= 100
    assert set(body["checks"]) == {"database", "diskSpace", "memory"}
    text = response.text
    for secret in (
        prod_env["SECRET_KEY"],
        prod_env["DATABASE_URL"],
        prod_env["REDIS_URL"],
        "127.0.0.1",
        "postgres@",
    ):
        assert secret not in text
    assert httpx.get(f"{app.url}/health/live").json()["status"] == "alive"
    assert httpx.get(f"{app.url}/health/ready").status_code == 200


def test_redis_outage_degrades_but_keeps_serving_then_recovers(prod_env, launch, own_redis):
    app = launch(prod_env)
    own_redis.stop()
    try:
        response = _settled(app.url, "degraded")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["components"]["redis"]["status"] == "unhealthy"
        assert httpx.get(f"{app.url}/health/ready").status_code == 200
        signup = httpx.post(
            f"{app.url}/api/v1/auth/signup",
            json={
                "organisation_name": "Redisless",
                "slug": "redisless",
                "name": "A",
                "email": "a@redisless.example.org",
                "password": "correct horse battery",
            },
        )
        assert (
            signup.status_code == 202
        )  # rate limits are kept per instance; the database is the record
    finally:
        own_redis.start()
    _wait_for(lambda: _health(app.url).json()["status"] == "healthy")


def test_database_outage_is_503_everywhere_but_liveness_then_recovers(prod_env, launch, own_pg):
    app = launch(prod_env)
    pid = app.process.pid
    own_pg.stop("fast")
    try:
        started = time.monotonic()
        response = _settled(app.url, "unhealthy")
        # one probe timeout plus the cache's age, not a hang
        assert time.monotonic() - started < 8
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy"
        assert body["components"]["database"]["status"] == "unhealthy"
        assert body["checks"]["database"] == "fail"
        assert httpx.get(f"{app.url}/health/live").status_code == 200
        assert httpx.get(f"{app.url}/health/ready").status_code == 503
        api = httpx.post(
            f"{app.url}/api/v1/auth/login", json={"email": "x@example.org", "password": "whatever1"}
        )
        assert api.status_code == 503
        assert api.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in api.text
    finally:
        own_pg.start()
    _wait_for(lambda: _health(app.url).status_code == 200)
    assert _health(app.url).json()["status"] == "healthy"
    assert app.process.pid == pid
    assert app.process.poll() is None
