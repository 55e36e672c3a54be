"""PostgreSQL restarted under steady load: only clean 503s during the outage, full service
afterwards, and no restart of the app."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from tests.runtime.test_shared_state import sign_up

LOAD_S = 14.0
OUTAGE_AT_S, OUTAGE_S = 3.0, 4.0


def test_postgres_restart_under_load_gives_only_503s_and_recovers(prod_env, launch, own_pg):
    app = launch({**prod_env, "API_REQUESTS_PER_MINUTE": "1000000"})
    pid = app.process.pid
    headers = sign_up(app.url, "resilient", prod_env)
    outcomes: list[tuple[float, int, str]] = []
    stop = threading.Event()
    t0 = time.monotonic()

    def hammer() -> None:
        with httpx.Client(base_url=app.url, headers=headers, timeout=10) as client:
            while not stop.is_set() and time.monotonic() - t0 < LOAD_S:
                response = client.get("/api/v1/events")
                outcomes.append(
                    (
                        time.monotonic() - t0,
                        response.status_code,
                        response.headers.get("content-type", ""),
                    )
                )

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(OUTAGE_AT_S)
    own_pg.stop("fast")
    time.sleep(OUTAGE_S)
    own_pg.start()
    restarted_at = time.monotonic() - t0
    for worker in workers:
        worker.join(timeout=LOAD_S + 20)
    stop.set()

    statuses = Counter(status for _, status, _ in outcomes)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] > 0
    assert statuses[200] > 0
    failures = [(t, ctype) for t, status, ctype in outcomes if status == 503]
    assert all(ctype == "application/problem+json" for _, ctype in failures)
    assert all(OUTAGE_AT_S - 0.5 <= t <= restarted_at + 3 for t, _ in failures), failures[-3:]
    assert any(status == 200 and t > restarted_at for t, status, _ in outcomes)
    assert app.process.pid == pid
    assert app.process.poll() is None
    assert httpx.get(f"{app.url}/api/v1/events", headers=headers).status_code == 200
