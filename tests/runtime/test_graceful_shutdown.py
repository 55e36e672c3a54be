"""SIGTERM during slow requests: readiness drops first, in-flight requests finish, new
connections are refused after the drain delay, and the process exits 0 within the limit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.slow_app import SLOW_S

IN_FLIGHT = 20
DRAIN_S = 2.0
LIMIT_S = 30.0


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_then_finishes_in_flight_requests_and_exits_zero(prod_env, launch, workers):
    app = launch(prod_env, workers=workers, app="harness.slow_app:create")
    all_sent = threading.Barrier(IN_FLIGHT + 1)

    def slow_request(_: int) -> int:
        with httpx.Client(timeout=60) as client:
            all_sent.wait()
            return client.get(f"{app.url}/test/slow").status_code

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        results = pool.map(slow_request, range(IN_FLIGHT))
        all_sent.wait()
        time.sleep(0.5)  # the requests are now in flight
        terminated_at = time.monotonic()
        app.terminate()

        readiness = [httpx.get(f"{app.url}/health/ready", timeout=5) for _ in range(3)]
        assert {r.status_code for r in readiness} == {503}
        assert all("draining" in r.json()["reasons"] for r in readiness)
        assert httpx.get(f"{app.url}/health/live", timeout=5).headers["connection"] == "close"

        time.sleep(DRAIN_S + 1.0)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{app.url}/health/live", timeout=5)
        statuses = list(results)

    assert statuses == [200] * IN_FLIGHT
    exit_code = app.process.wait(timeout=LIMIT_S)
    elapsed = time.monotonic() - terminated_at
    assert exit_code == 0, app.logs()
    assert elapsed < DRAIN_S + SLOW_S + 5
    assert '"stopped"' in app.logs()  # lifespan shutdown ran: pools closed
