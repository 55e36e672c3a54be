"""The development stack (deploy/compose/compose.dev.yml) starts and serves: Compose builds
the app from the working tree on the local stand-in base, starts PostgreSQL and Redis, and
the app answers /health with the database healthy, serving the mounted source."""

from __future__ import annotations

import time
from typing import Any

import httpx

from harness.compose import DEV, compose_stack
from tests.deploy.containers import report

DEV_IMAGE = "signupflow:dev-test"  # rebuilt from cache on every run, kept like the test images
# Cold, the build takes about a minute on the stand-in base (less from the layer cache);
# PostgreSQL's first start and the app's migration a few seconds more.
BUILD_AND_START_TIMEOUT_S = 600
HEALTHY_TIMEOUT_S = 120


def wait_for_health(base: str, *, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/health", timeout=5)
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{base}/health did not answer 200 within {timeout} s: {last}")


def test_development_stack_builds_starts_and_reaches_the_app(
    base_images: dict[str, str],
) -> None:
    env = {
        "PYTHON_BASE_IMAGE": base_images["python"],
        "POSTGRES_IMAGE": base_images["postgres"],
        "REDIS_IMAGE": base_images["redis"],
        "DEV_APP_IMAGE": DEV_IMAGE,
        # Port 0: the engine picks free ports, so a developer's running stack is no obstacle.
        "DEV_APP_PORT": "0",
        "DEV_POSTGRES_PORT": "0",
        "DEV_REDIS_PORT": "0",
    }
    with compose_stack((DEV,), prefix="sf-dev", env=env) as stack:
        started = time.monotonic()
        wait = ("--wait", "--wait-timeout", str(HEALTHY_TIMEOUT_S))
        up = stack.compose(
            "up", "--detach", "--build", *wait, timeout=BUILD_AND_START_TIMEOUT_S, check=False
        )
        assert up.returncode == 0, f"{up.stderr[-4000:]}\n{stack.logs()}"
        published = stack.compose("port", "app", "8000").stdout.strip()
        host, _, port = published.rpartition(":")
        assert host == "127.0.0.1", f"the app is published on {published}"

        response = wait_for_health(f"http://127.0.0.1:{port}", timeout=HEALTHY_TIMEOUT_S)
        reached_after = time.monotonic() - started
        body: dict[str, Any] = response.json()
        assert body["status"] == "healthy", body
        assert body["components"]["database"]["status"] == "healthy"
        assert body["components"]["redis"]["status"] == "healthy"
        assert body["components"]["redis"]["backend"] == "redis"

        # --reload serves the mounted working tree, not the copy installed in the image.
        served_from = stack.compose(
            "exec", "-T", "app", "python", "-c", "import signupflow; print(signupflow.__file__)"
        ).stdout.strip()
        assert served_from == "/app/src/signupflow/__init__.py"
        for service, target in (("postgres", "5432"), ("redis", "6379")):
            published = stack.compose("port", service, target).stdout.strip()
            assert published.startswith("127.0.0.1:"), f"{service} is published on {published}"
    report(f"dev stack: built, started and healthy in {reached_after:.1f} s")
