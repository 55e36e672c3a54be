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

import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.pool import QueuePool

from signupflow import __version__
from signupflow.db.migrate import current_revision, schema_is_compatible
from signupflow.ops.shutdown import DRAIN
from signupflow.settings import Settings
from signupflow.state.store import SharedStore

router = APIRouter(tags=["health"])
DISK_LIMIT_PERCENT = 90.0
MEMORY_LIMIT_PERCENT = 85.0
_PROBES = anyio.CapacityLimiter(4)
_STARTED = time.monotonic()
PROBE_CACHE_S = 1.0  # below any sensible poll interval; bounds probe load under heavy polling


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


def _release(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.release or __version__


def _status(ok: bool) -> str:
    return "healthy" if ok else "unhealthy"


@router.get("/health/live")
async def live(request: Request) -> dict[str, str]:
    """The process is up."""
    return {"status": "alive", "version": __version__, "release": _release(request)}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready for traffic: not draining, database reachable, schema at the migration head."""
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    reasons = []
    if DRAIN.draining:
        reasons.append("draining")
    else:
        ok, _, revision = await _timed(settings.probe_timeout_s, current_revision, engine)
        if not ok:
            reasons.append("database unreachable")
        elif not schema_is_compatible(revision):
            reasons.append("database schema is behind this release (run `signupflow db upgrade`)")
    body = {"status": "ready" if not reasons else "not ready", "reasons": reasons}
    return JSONResponse(body, status_code=503 if reasons else 200)


@dataclass(frozen=True)
class ProbeResults:
    at: float
    database: tuple[bool, float, Any]
    redis: tuple[bool, float, Any]
    disk: tuple[bool, float, Any]
    memory: tuple[bool, float, Any]


class ProbeCache:
    """Dependency probes run at most once per PROBE_CACHE_S per process, concurrently, and
    one caller runs them while the others wait for that result (single flight). Monitors and
    edges that poll hard then cost the database one query per second, not one per request."""

    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self._latest: ProbeResults | None = None

    async def get(self, request: Request) -> ProbeResults:
        if self._fresh():
            assert self._latest is not None
            return self._latest
        async with self._lock:
            if not self._fresh():
                self._latest = await _run_probes(request)
        assert self._latest is not None
        return self._latest

    def _fresh(self) -> bool:
        return self._latest is not None and time.monotonic() - self._latest.at < PROBE_CACHE_S


async def _run_probes(request: Request) -> ProbeResults:
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    store: SharedStore = request.app.state.store
    timeout = settings.probe_timeout_s
    found: dict[str, tuple[bool, float, Any]] = {}

    async def probe(name: str, func: Any, *args: Any) -> None:
        found[name] = await _timed(timeout, func, *args)

    async with anyio.create_task_group() as group:
        group.start_soon(probe, "database", _select_one, engine)
        group.start_soon(probe, "redis", store.ping)
        group.start_soon(probe, "disk", _disk_percent, Path(settings.storage_path))
        group.start_soon(probe, "memory", memory_percent)
    return ProbeResults(
        time.monotonic(), found["database"], found["redis"], found["disk"], found["memory"]
    )


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """The full health report (no authentication, no secrets, no internal addresses).
    Dependency results are at most one second old."""
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    store: SharedStore = request.app.state.store
    probes = await request.app.state.probe_cache.get(request)
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
        "release": _release(request),
        "uptime": round(time.monotonic() - _STARTED, 1),
        "components": {
            "api": {"status": "healthy", "draining": DRAIN.draining},
            "database": {
                "status": _status(db_ok),
                "critical": True,
                "response_time_ms": round(db_ms, 2),
                "pool": _pool(engine, settings),
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
    return JSONResponse(
        body, status_code=503 if not db_ok else 200, headers={"Cache-Control": "no-store"}
    )
