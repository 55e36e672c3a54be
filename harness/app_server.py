"""`signupflow serve` (or the same server machinery around a test app) as a real process on
127.0.0.1, for the tests and the benchmarks, with its JSON log captured to a file.

The server runs in its own session (process group): a Ctrl-C in the terminal reaches only the
driver, which then stops the server itself, and a server that outlives its stop is killed with
all its workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.ports import free_port
from harness.repository import REPO

READY_TIMEOUT_S = 60.0
# Above the server's own graceful-shutdown bound (settings.py refuses drain_delay_s +
# shutdown_timeout_s of 30 s or more), so a clean stop is never cut short.
STOP_TIMEOUT_S = 35.0
STRONG_KEY = "3f1c9a7e5b2d8f4061a9c3e7b5d2f8a4c6e1b9d7f3a5c8e2"
# Environment variables that would make a benchmark's server differ from its defaults.
_BENCHMARK_CLEARED = ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_TIMEOUT_S", "LOG_LEVEL", "DEBUG")


class ServerFailed(RuntimeError):
    """The server exited or did not become ready; the message carries its log."""


def signupflow_executable() -> str:
    """The `signupflow` console script of the interpreter running this code."""
    candidate = Path(sys.executable).parent / "signupflow"
    if not candidate.exists():
        raise ServerFailed(f"{candidate} not found: install the package (make install)")
    return str(candidate)


@dataclass
class AppServer:
    process: subprocess.Popen[bytes]
    port: int
    workers: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until /health/ready answers 200 (database reachable, schema at the head, not
        draining); ServerFailed if the server exits first or the time runs out."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerFailed(
                        f"server exited with {self.process.returncode}:\n{self.logs()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/health/ready").status_code == 200:
                        return
                time.sleep(0.1)
        raise ServerFailed(f"server not ready after {timeout_s:.0f} s:\n{self.logs()}")

    def terminate(self) -> None:
        """SIGTERM to the server process alone, as Docker and Kubernetes send it: the server
        drains and stops its own workers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """`terminate`, then SIGKILL to the whole process group if the server has not exited
        in time. The exit code of the clean stop, or None when it had to be killed."""
        self.terminate()
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            return None


def imported_package(env: Mapping[str, str]) -> Path:
    """The directory `import signupflow` loads from, with this environment."""
    done = subprocess.run(
        [sys.executable, "-c", "import signupflow; print(signupflow.__file__)"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ServerFailed(f"signupflow cannot be imported:\n{done.stderr}")
    return Path(done.stdout.strip()).parent


def start_server(
    env: Mapping[str, str],
    log_path: Path,
    *,
    workers: int = 1,
    app: str | None = None,
    source: Path | None = None,
) -> AppServer:
    """`signupflow serve` on a free port with exactly this environment; call `wait_ready`.

    `app`: an import string of an app factory to run instead of the real one, served by the
    same GracefulServer machinery (for endpoints only tests need, such as harness.slow_app's).
    `source`: a tree holding another version's `src/` (harness.baseline's), served instead of
    this checkout's package by the same interpreter and dependencies; ServerFailed unless
    that is the package the server would import.
    The working directory is the log's directory, so no `.env` file of the checkout changes
    the settings and relative paths (the default storage path) stay out of the checkout."""
    port = free_port()
    command = [
        signupflow_executable(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if app is not None:
        command += ["--app", app]
        env = {**env, "PYTHONPATH": str(REPO)}
    if source is not None:
        package = source / "src" / "signupflow"
        paths = [str(source / "src"), *([str(REPO)] if app is not None else [])]
        env = {**env, "PYTHONPATH": os.pathsep.join(paths)}
        imported = imported_package(env)
        if imported != package:
            raise ServerFailed(f"the server would import {imported}, not {package}")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=log_path.parent,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return AppServer(process=process, port=port, workers=workers, log_path=log_path)


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The production profile (strict checks, Redis, real bcrypt cost) on these services."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "DATABASE_", "REDIS_", "SECRET_", "PROMETHEUS_"))
    }
    env.update(
        {
            "APP_ENV": "production",
            "SECRET_KEY": STRONG_KEY,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SMTP_HOST": "127.0.0.1",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BCRYPT_ROUNDS": "12",
            "DB_POOL_SIZE": "10",
            "DB_MAX_OVERFLOW": "10",
            "PROBE_TIMEOUT_S": "1",
            "DRAIN_DELAY_S": "2",
            "SHUTDOWN_TIMEOUT_S": "15",
        }
    )
    env.update(extra)
    return env


def migrate(env: Mapping[str, str]) -> None:
    """`signupflow db upgrade` with this environment (the production profile never migrates
    on start)."""
    subprocess.run(
        [signupflow_executable(), "db", "upgrade"],
        env=dict(env),
        check=True,
        capture_output=True,
        timeout=120,
    )


def benchmark_env(database_url: str, *, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test profile (quiet logs, no demo, no strict checks) with default pool sizes and
    the per-caller budgets out of the way."""
    env = {k: v for k, v in os.environ.items() if k not in _BENCHMARK_CLEARED}
    env.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "LOAD_DEMO": "false",
            "SECRET_KEY": os.urandom(32).hex(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # One token drives every wrk connection: the per-user limit (1,200 a minute) would
            # answer 429, which measures the limiter instead of the server's capacity.
            "API_REQUESTS_PER_MINUTE": "1000000",
            # Likewise the organisation's budget (6,000 a minute): one organisation is measured.
            "ORG_API_REQUESTS_PER_MINUTE": "1000000",
            # Nothing routes traffic here, so nothing needs time to notice the drain.
            "DRAIN_DELAY_S": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    workdir: Path,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
    source: Path | None = None,
    app: str | None = None,
) -> Iterator[AppServer]:
    """A benchmark's server (`benchmark_env`) on its own free port, ready; always stopped.

    Its log, and with several workers its metrics directory, go to a new directory in
    `workdir`. `source` and `app`: another version's tree, another app factory, as for
    `start_server`."""
    directory = Path(tempfile.mkdtemp(prefix="server-", dir=workdir))
    extra = dict(extra_env or {})
    if workers > 1:
        # Otherwise `serve` makes its own metrics directory in /tmp and leaves it there.
        metrics_dir = directory / "metrics"
        metrics_dir.mkdir()
        extra.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    server = start_server(
        benchmark_env(database_url, extra=extra),
        directory / "server.log",
        workers=workers,
        app=app,
        source=source,
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
