"""The deploy tool's watch after the cut-over (deploy/deploytool/observe.py), without a stack:
probes to a real HTTP server on 127.0.0.1 that answers like a release, healthy or failing.
test_stack.py runs it through the edge against a release that starts failing 20 s late."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from deploy.deploytool.lock import DeployLock
from deploy.deploytool.observe import Probe, judge, observe
from deploy.deploytool.runner import DeployError, Runner
from deploy.deploytool.settings import Settings
from deploy.deploytool.watch import watch_once

from harness.docker import docker_cmd


class Release(BaseHTTPRequestHandler):
    """/health/live naming release v9; 500 once the server's `fail_at` has passed."""

    def do_GET(self) -> None:
        fail_at: float = self.server.fail_at  # type: ignore[attr-defined]
        status = 500 if time.monotonic() >= fail_at else 200
        body = json.dumps({"status": "ok", "release": "v9"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Release)
    httpd.fail_at = float("inf")  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def settings(server: ThreadingHTTPServer, window: float) -> Settings:
    return Settings(
        project="watch-test",
        files=[],
        env_file=None,
        release_env=Path("/nonexistent/.env"),
        state_dir=Path("/nonexistent"),
        service="app",
        edge_service="edge",
        migrate_service="migrate",
        lock_ttl=10,
        lock_wait=0,
        ready_timeout=10,
        verify_url=f"http://127.0.0.1:{server.server_address[1]}/health/live",
        verify_connect=None,
        verify_cacert=None,
        verify_timeout=10,
        watch_window=window,
    )


def test_a_healthy_release_passes_its_watch(server: ThreadingHTTPServer) -> None:
    figures = observe(settings(server, 2), "v9")
    assert figures["probes"] >= 8


def test_a_release_that_starts_failing_during_the_watch_is_caught_within_seconds(
    server: ThreadingHTTPServer,
) -> None:
    server.fail_at = time.monotonic() + 2  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(DeployError, match=r"failed its watch .*probes failed.*HTTP 500"):
        observe(settings(server, 30), "v9")
    assert time.monotonic() - started < 5


def test_the_watch_fails_when_another_release_answers(server: ThreadingHTTPServer) -> None:
    with pytest.raises(DeployError, match="another release"):
        observe(settings(server, 1), "v8")


def probes(latencies: list[float], failed: int = 0) -> list[Probe]:
    return [
        Probe(at=i, ok=i >= failed, seconds=s, outcome="HTTP 500" if i < failed else "HTTP 200")
        for i, s in enumerate(latencies)
    ]


def test_judge_thresholds() -> None:
    fast = [0.01] * 100
    assert judge(probes(fast), max_error_rate=0.05, max_p99=1.0)[0] is None
    # One failure in the last 20 is 5%, not above it; a second is.
    one = probes(fast) + probes([0.01], failed=1)
    assert judge(one, max_error_rate=0.05, max_p99=1.0)[0] is None
    two = one + probes([0.01], failed=1)
    assert "probes failed" in str(judge(two, max_error_rate=0.05, max_p99=1.0)[0])
    # p99: 2 slow probes of 100 cross it; 1 does not (it is the 100th percentile).
    assert judge(probes([0.01] * 99 + [3.0]), max_error_rate=0.05, max_p99=1.0)[0] is None
    slow = probes([0.01] * 98 + [3.0, 3.0])
    assert "p99 3000 ms" in str(judge(slow, max_error_rate=0.05, max_p99=1.0)[0])
    # Too few probes to judge either.
    assert judge(probes([3.0] * 5, failed=5), max_error_rate=0.05, max_p99=1.0)[0] is None


def test_the_watcher_leaves_what_a_restore_stopped_alone_until_the_lock_is_released(
    docker: str, base_images: dict[str, str], server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    """`deploy.py restore` stops the app and the database under the deploy lock; the watcher
    (deploy/systemd/signupflow-watch.service) must not start them again meanwhile."""
    project = f"watch-lock-{uuid.uuid4().hex[:8]}"
    name = f"{project}-app-1"
    docker_cmd(
        "create", "--name", name, "--label", f"com.docker.compose.project={project}",
        "--restart", "unless-stopped", base_images["python"], "sleep", "600",
    )  # fmt: skip
    try:
        runner = Runner(docker=[docker], compose=[], env={})
        watching = replace(settings(server, 1.0), project=project, state_dir=tmp_path)
        lock = DeployLock(tmp_path / "deploy.lock", ttl=60, command="restore --yes")
        lock.acquire(wait=0)
        try:
            assert watch_once(runner, watching) == []
            assert not running(name)
        finally:
            lock.release()
        assert watch_once(runner, watching) == [name]
        assert running(name)
    finally:
        docker_cmd("rm", "--force", name, check=False)


def running(name: str) -> bool:
    return docker_cmd("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true"
