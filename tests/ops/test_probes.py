"""The probes are answered in front of the API stack (ProbeEndpoints) and /health reads
dependency results from a cache that never makes a caller wait while it refreshes."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from signupflow.app import create_app
from signupflow.ops import health
from tests.support.settings import make_settings


def _client(tmp_path) -> TestClient:
    return TestClient(create_app(make_settings(f"sqlite:///{tmp_path / 'probes.db'}")))


def test_probes_answer_get_and_head_with_request_id_and_no_store(tmp_path):
    with _client(tmp_path) as client:
        for path in ("/health", "/health/live", "/health/ready"):
            response = client.get(path, headers={"x-request-id": "probe-1"})
            assert response.status_code == 200, path
            assert response.headers["content-type"] == "application/json"
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["x-request-id"] == "probe-1"
            head = client.head(path)
            assert head.status_code == 200
            assert head.content == b""
            assert int(head.headers["content-length"]) > 0


def test_probes_refuse_other_methods_with_problem_json(tmp_path):
    with _client(tmp_path) as client:
        response = client.post("/health")
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["allow"] == "GET, HEAD"
        assert response.json()["status"] == 405


def test_probes_count_in_the_request_metrics(tmp_path):
    with _client(tmp_path) as client:
        client.get("/health/live")
        before = _live_count(client)
        client.get("/health/live")
        client.get("/health/live")
        assert _live_count(client) == before + 2


def _live_count(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("signupflow_http_requests_total{") and 'route="/health/live"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_probe_cache_serves_stale_results_while_one_refresh_runs(tmp_path):
    with _client(tmp_path) as client:
        state = client.app.state  # type: ignore[attr-defined]
        cache: health.ProbeCache = state.probe_cache
        first = client.portal.call(cache.get, state)
        assert client.portal.call(cache.get, state) is first  # fresh: no new probe run
        time.sleep(health.PROBE_CACHE_S + 0.1)
        stale = client.portal.call(cache.get, state)
        assert stale is first  # stale but young: served at once, refresh in the background
        deadline = time.monotonic() + 5
        while client.portal.call(cache.get, state) is first:
            assert time.monotonic() < deadline, "the background refresh never landed"
            time.sleep(0.05)
        assert client.portal.call(cache.get, state).at > first.at
