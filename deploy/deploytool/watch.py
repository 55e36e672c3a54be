"""The watcher: start containers stopped outside a deploy (see the package docstring)."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

from .lock import DeployLock
from .runner import DeployError, Runner, now_iso
from .settings import Settings

RESTART_POLICIES = frozenset({"always", "unless-stopped"})


def log_event(event: str, **fields: Any) -> None:
    print(json.dumps({"time": now_iso(), "event": event, **fields}), flush=True)


def stopped_but_meant_to_run(runner: Runner, project: str) -> list[dict[str, Any]]:
    ids = runner.docker_run(
        "ps",
        "--all",
        "--quiet",
        "--no-trunc",
        "--filter",
        f"label=com.docker.compose.project={project}",
    ).split()
    if not ids:
        return []
    return [
        item
        for item in json.loads(runner.docker_run("inspect", *ids))
        if item["HostConfig"]["RestartPolicy"]["Name"] in RESTART_POLICIES
        and not item["State"]["Running"]
        and not item["State"]["Restarting"]
        and not item["State"].get("Dead")
    ]


def watch_once(runner: Runner, settings: Settings) -> list[str]:
    """Start what should run and does not; the names started. Nothing while a deploy runs."""
    lock = DeployLock(settings.state_dir / "deploy.lock", ttl=settings.lock_ttl, command="watch")
    holder = lock.current_holder()
    if holder is not None:
        return []
    started = []
    for item in stopped_but_meant_to_run(runner, settings.project):
        name = item["Name"].lstrip("/")
        result = runner.run([*runner.docker, "start", item["Id"]], timeout=60, check=False)
        ok = result.returncode == 0
        log_event(
            "started" if ok else "start failed",
            container=name,
            exit_code=item["State"].get("ExitCode"),
            finished_at=item["State"].get("FinishedAt"),
            error=None if ok else (result.stderr.strip()[-500:] or None),
        )
        if ok:
            started.append(name)
    return started


def watch(runner: Runner, settings: Settings, *, interval: float) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log_event("watching", project=settings.project, interval_s=interval)
    while not stop.is_set():
        try:
            watch_once(runner, settings)
        except DeployError as exc:  # docker briefly unavailable: say so, try again
            log_event("error", error=str(exc)[-500:])
        stop.wait(interval)
    log_event("stopped")
    return 0
