"""Run `signupflow serve` (or the same server machinery around a test app) as a real
process, with its JSON log captured to a file."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parents[2]
SIGNUPFLOW = REPO / ".venv" / "bin" / "signupflow"
STRONG_KEY = "3f1c9a7e5b2d8f4061a9c3e7b5d2f8a4c6e1b9d7f3a5c8e2"


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
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


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(SIGNUPFLOW), "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120
    )


@dataclass
class AppProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_handle: BinaryIO

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 40) -> int:
        self.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)
        finally:
            self.log_handle.close()


def start_app(
    env: dict[str, str], log_path: Path, *, workers: int = 1, app: str | None = None
) -> AppProcess:
    """`app`: an import string of an app factory to run instead of the real one, served by
    the same GracefulServer machinery (for endpoints only tests need, such as a slow one)."""
    port = free_port()
    command = [str(SIGNUPFLOW), "serve", "--port", str(port), "--workers", str(workers)]
    if app is not None:
        command += ["--app", app]
        env = {**env, "PYTHONPATH": str(REPO)}
    handle = log_path.open("wb")
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
    return AppProcess(process, port, log_path, handle)
