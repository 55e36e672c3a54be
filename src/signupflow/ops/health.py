"""Health probes: the operators' contract.

- /health/live: the process runs. Touches no dependency, so it never fails because of one.
- /health/ready: may this instance take traffic? Database reachable, schema at the migration
  head, not draining.
- /health: the full report. 503 only when a critical component (the database) fails; a
  non-critical one (Redis, disk, memory) marks the report degraded and stays 200.

Every dependency probe has its own timeout and runs on a small dedicated thread limiter, so a
hung database can neither hang the probe nor starve request threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Engine, text
from sqlalchemy.pool import QueuePool
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from signupflow import __version__
from signupflow.db.migrate import current_revision, schema_is_compatible
from signupflow.errors import PROBLEM_JSON
from signupflow.http_methods import READS
from signupflow.ops import metrics
from signupflow.ops.logging import request_id_var
from signupflow.ops.middleware import log_request, request_id_for
from signupflow.ops.shutdown import DRAIN
from signupflow.settings import Settings
from signupflow.state.store import SharedStore

DISK_LIMIT_PERCENT = 90.0
MEMORY_LIMIT_PERCENT = 85.0
log = logging.getLogger("signupflow.request")  # the access log, as in ops/middleware.py
_PROBES = anyio.CapacityLimiter(4)
_STARTED = time.monotonic()
PROBE_CACHE_S = 1.0  # below any sensible poll interval; bounds probe load under heavy polling
STALE_LIMIT_S = 5.0  # older results are not served: a caller then waits for fresh ones


async def _timed(timeout_s: float, probe: Any, *args: Any) -> tuple[bool, float, Any]:
    """Run a blocking probe with a deadline: (ok, milliseconds, result or error name)."""
    started = time.perf_counter()
    try:
        with anyio.fail_after(timeout_s):
            result = await anyio.to_thread.run_sync(
                probe, *args, limiter=_PROBES, abandon_on_cancel=True
            )
        return True, (time.perf_counter() - started) * 1000, result
    except TimeoutError:
        return False, (time.perf_counter() - started) * 1000, "timeout"
    except Exception as exc:  # any failure is "unhealthy"; the reason class is enough
        return False, (time.perf_counter() - started) * 1000, type(exc).__name__


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _pool(engine: Engine, settings: Settings) -> dict[str, int]:
    pool = engine.pool
    active = pool.checkedout() if isinstance(pool, QueuePool) else 0
    idle = pool.checkedin() if isinstance(pool, QueuePool) else 0
    return {"active": active, "idle": idle, "max": settings.db_pool_size + settings.db_max_overflow}


def _disk_percent(path: Path) -> float:
    path.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(path)
    return round(100 * usage.used / usage.total, 1)


def memory_percent() -> float:
    """Memory in use, against the container's cgroup limit when there is one."""
    limit_file, usage_file = (
        Path("/sys/fs/cgroup/memory.max"),
        Path("/sys/fs/cgroup/memory.current"),
    )
    try:
        limit = limit_file.read_text().strip()
        if limit.isdigit():
            return round(100 * int(usage_file.read_text()) / int(limit), 1)
    except OSError:
        pass
    info = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        info[key] = int(value.split()[0])
    return round(100 * (1 - info["MemAvailable"] / info["MemTotal"]), 1)


def _release(settings: Settings) -> str:
    return settings.release or __version__


def _status(ok: bool) -> str:
    return "healthy" if ok else "unhealthy"


async def live(state: State) -> tuple[int, dict[str, Any]]:
    """The process is up."""
    return 200, {"status": "alive", "version": __version__, "release": _release(state.settings)}


async def ready(state: State) -> tuple[int, dict[str, Any]]:
    """Ready for traffic: not draining, database reachable, schema at the code's migration head
    or newer (a newer release migrated first: docs/migrations.md)."""
    settings: Settings = state.settings
    reasons = []
    if DRAIN.draining:
        reasons.append("draining")
    else:
        ok, _, revision = await _timed(settings.probe_timeout_s, current_revision, state.engine)
        if not ok:
            reasons.append("database unreachable")
        elif not schema_is_compatible(revision):
            reasons.append("database schema is behind this release (run `signupflow db upgrade`)")
    body = {"status": "ready" if not reasons else "not ready", "reasons": reasons}
    return 503 if reasons else 200, body


@dataclass(frozen=True)
class ProbeResults:
    at: float
    database: tuple[bool, float, Any]
    redis: tuple[bool, float, Any]
    disk: tuple[bool, float, Any]
    memory: tuple[bool, float, Any]


class ProbeCache:
    """Dependency probes run at most once per PROBE_CACHE_S per process, in the background.

    Callers get the latest result at once while it is younger than STALE_LIMIT_S, and a
    stale one starts a single refresh. Monitors and edges that poll hard then cost the
    database one query per second, and no caller waits for a probe (waiting callers were the
    once-a-second latency spike under load). Only the first call, or one after the probes
    themselves hung past the limit, waits for fresh results.
    """

    def __init__(self) -> None:
        self._latest: ProbeResults | None = None
        self._refresh: asyncio.Task[ProbeResults] | None = None

    async def get(self, state: State) -> ProbeResults:
        latest = self._latest
        age = time.monotonic() - latest.at if latest else None
        if age is not None and age < PROBE_CACHE_S:
            return latest  # type: ignore[return-value]
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._run(state))
        if latest is not None and age is not None and age < STALE_LIMIT_S:
            return latest
        return await asyncio.shield(self._refresh)

    async def _run(self, state: State) -> ProbeResults:
        self._latest = await _run_probes(state)
        return self._latest


async def _run_probes(state: State) -> ProbeResults:
    settings: Settings = state.settings
    timeout = settings.probe_timeout_s
    found: dict[str, tuple[bool, float, Any]] = {}

    async def probe(name: str, func: Any, *args: Any) -> None:
        found[name] = await _timed(timeout, func, *args)

    async with anyio.create_task_group() as group:
        group.start_soon(probe, "database", _select_one, state.engine)
        group.start_soon(probe, "redis", state.store.ping)
        group.start_soon(probe, "disk", _disk_percent, Path(settings.storage_path))
        group.start_soon(probe, "memory", memory_percent)
    return ProbeResults(
        time.monotonic(), found["database"], found["redis"], found["disk"], found["memory"]
    )


async def health(state: State) -> tuple[int, dict[str, Any]]:
    """The full health report (no authentication, no secrets, no internal addresses).
    Dependency results are at most a few seconds old (see ProbeCache)."""
    settings: Settings = state.settings
    store: SharedStore = state.store
    probes = await state.probe_cache.get(state)
    db_ok, db_ms, _ = probes.database
    redis_ok, redis_ms, _ = probes.redis
    disk_ok, _, disk = probes.disk
    mem_ok, _, memory = probes.memory
    disk_pass = disk_ok and disk < DISK_LIMIT_PERCENT
    memory_pass = mem_ok and memory < MEMORY_LIMIT_PERCENT
    degraded = not (redis_ok and disk_pass and memory_pass)
    status = "unhealthy" if not db_ok else "degraded" if degraded else "healthy"
    body = {
        "status": status,
        "timestamp": datetime.now(UTC).isoformat(),
        "version": __version__,
        "release": _release(settings),
        "uptime": round(time.monotonic() - _STARTED, 1),
        "components": {
            "api": {"status": "healthy", "draining": DRAIN.draining},
            "database": {
                "status": _status(db_ok),
                "critical": True,
                "response_time_ms": round(db_ms, 2),
                "pool": _pool(state.engine, settings),
            },
            "redis": {
                "status": _status(redis_ok),
                "critical": False,
                "backend": store.backend,
                "response_time_ms": round(redis_ms, 2),
            },
            "storage": {
                "status": _status(disk_pass),
                "critical": False,
                "disk_usage_percent": disk if disk_ok else None,
            },
        },
        "checks": {
            "database": "pass" if db_ok else "fail",
            "diskSpace": {
                "status": "pass" if disk_pass else "fail",
                "usage_percent": disk if disk_ok else None,
                "limit_percent": DISK_LIMIT_PERCENT,
            },
            "memory": {
                "status": "pass" if memory_pass else "fail",
                "usage_percent": memory if mem_ok else None,
                "limit_percent": MEMORY_LIMIT_PERCENT,
            },
        },
    }
    return 503 if not db_ok else 200, body


Probe = Callable[[State], Awaitable[tuple[int, dict[str, Any]]]]


PROBES: dict[str, Probe] = {"/health": health, "/health/live": live, "/health/ready": ready}


class ProbeEndpoints:
    """Serves the probes in front of every other layer, as plain ASGI.

    The edge and the orchestrator ask each instance every second or so, and the probe must
    answer fast when the API is busy: routing, dependency injection and response models
    cost more than the probe itself (measured at 64 clients: p99 65 ms through FastAPI's
    router). Probes need no host check, no session and no CORS; they still get a request id
    and count in the request metrics; they are logged at debug level (failures at info).
    """

    def __init__(self, app: ASGIApp, *, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        probe = PROBES.get(scope["path"]) if scope["type"] == "http" else None
        if probe is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        if method in READS:
            status, body = await probe(self.state)
            content_type = b"application/json"
            headers = [(b"cache-control", b"no-store")]
        else:
            status, content_type = 405, PROBLEM_JSON.encode()
            body = {"type": "about:blank", "title": "Method not allowed", "status": 405}
            headers = [(b"allow", b"GET, HEAD")]
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers += [(b"content-type", content_type), (b"content-length", b"%d" % len(payload))]
        request_id = request_id_for(dict(scope["headers"]))
        headers.append((b"x-request-id", request_id.encode()))
        if DRAIN.draining:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})
        elapsed = time.perf_counter() - started
        metrics.observe(method, scope["path"], status, elapsed)
        level = logging.INFO if status >= 500 else logging.DEBUG
        if log.isEnabledFor(level):  # the edge asks every second: debug level only, unless failing
            token = request_id_var.set(request_id)
            log_request(level, method, scope["path"], status, elapsed, reasons=body.get("reasons"))
            request_id_var.reset(token)
