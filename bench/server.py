"""A real `signupflow serve` process on 127.0.0.1 for benchmarks and load tests.

The server runs in its own process group, so stopping it also stops its uvicorn workers, and a
Ctrl-C in the terminal reaches only the driver, which then stops the server itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.support.postgres import free_port

READY_TIMEOUT_S = 60.0
# Above the server's own graceful-shutdown period (cli/serve.py: 25 s), so a clean stop is
# never cut short; after it the process group is killed.
STOP_TIMEOUT_S = 35.0
# Environment variables that would make the server differ from its defaults.
_CLEARED = ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_TIMEOUT_S", "LOG_LEVEL", "DEBUG")


class ServerFailed(RuntimeError):
    """The server exited or did not become ready; the message carries its log."""


def signupflow_executable() -> str:
    """The `signupflow` console script of the interpreter running this code."""
    candidate = Path(sys.executable).parent / "signupflow"
    if not candidate.exists():
        raise ServerFailed(f"{candidate} not found: install the package (make install)")
    return str(candidate)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    workers: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until /health answers 200 (the database is reachable); ServerFailed if it exits."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerFailed(
                        f"server exited with {self.process.returncode}:\n{self.log()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/health").status_code == 200:
                        return
                time.sleep(0.1)
        raise ServerFailed(f"server not ready after {timeout_s:.0f} s:\n{self.log()}")

    def stop(self) -> int | None:
        """SIGTERM to the server's process group, then SIGKILL if it has not exited in time.
        Returns the exit code of the clean stop, or None when it had to be killed."""
        if self.process.poll() is not None:
            return self.process.returncode
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            return None


def server_environment(
    database_url: str, *, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The test profile (quiet logs, no demo, no strict checks) with default pool sizes."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
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
) -> Iterator[Server]:
    """Start `signupflow serve` on a free port, wait until it is ready, always stop it.

    `workdir` holds the server log and is its working directory, so no `.env` file of the
    checkout changes its settings."""
    port = free_port()
    log_path = workdir / f"server-{port}.log"
    extra = dict(extra_env or {})
    if workers > 1:
        # Otherwise `serve` makes its own metrics directory in /tmp and leaves it there.
        metrics_dir = workdir / f"metrics-{port}"
        metrics_dir.mkdir()
        extra.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
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
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=server_environment(database_url, extra=extra),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process=process, port=port, workers=workers, log_path=log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
