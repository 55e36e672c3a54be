"""The app is served by the API process: index.html at / and for client routes, its files
with the right content types, a strict Content-Security-Policy, and nothing shadowing the API,
probes, metrics or docs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.app_server import AppServer


@pytest.fixture(scope="module")
def http(web_server: AppServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/login", "/accept", "/events/12"])
def test_index_is_served_for_the_root_and_client_routes(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in response.text
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/js/app.js", "text/javascript"),
        ("/static/js/pages/dashboard.js", "text/javascript"),
        ("/static/css/app.css", "text/css"),
        ("/static/locales/zh-Hant.json", "application/json"),
    ],
)
def test_assets_have_their_content_types(http: httpx.Client, path: str, content_type: str) -> None:
    response = http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)


def test_pages_allow_only_their_own_scripts_and_styles(http: httpx.Client) -> None:
    policy = http.get("/").headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/static/js/missing.js", "/docs/x"])
def test_unknown_reserved_paths_stay_problem_json_404(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_other_methods_on_client_routes_are_not_answered_with_the_page(
    http: httpx.Client,
) -> None:
    response = http.post("/login")
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/problem+json"


def test_api_probes_metrics_and_docs_are_not_shadowed(http: httpx.Client) -> None:
    assert http.get("/health/live").json()
    assert http.get("/api/v1/me").status_code == 401
    # The test server runs with APP_ENV=test and no METRICS_TOKEN: served without a token.
    metrics = http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    docs = http.get("/docs")
    assert "swagger-ui" in docs.text
    # Swagger UI needs its CDN and inline bootstrap, so the page policy is not applied there.
    assert "content-security-policy" not in docs.headers
