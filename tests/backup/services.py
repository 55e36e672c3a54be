"""The backup service and the drill as real processes, and a real webhook receiver: what the
schedule and drill tests share."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
WAIT_S = 180  # two runs on a loaded 2-core machine, with room


class Webhook:
    """A real HTTP server on 127.0.0.1 that records every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/backup"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Service:
    """`signupflow backup schedule` (or another command given) as a child process."""

    def __init__(
        self, env: dict[str, str], log_dir: Path, command: tuple[str, ...] = ("schedule",)
    ) -> None:
        self.port = int(env["BACKUP_METRICS_PORT"])
        self.stdout_path = log_dir / f"{command[0]}-{self.port}.out"
        self.stderr_path = log_dir / f"{command[0]}-{self.port}.err"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [str(SIGNUPFLOW), "backup", *command], env=env, stdout=out, stderr=err
            )

    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def events(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for line in self.stdout_path.read_text().splitlines()
            if line.startswith("{")
        ]

    def metrics(self) -> str:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5)
        except httpx.HTTPError:
            return ""
        return response.text if response.status_code == 200 else ""

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"the service exited {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {WAIT_S} s:\n{self.output()[-4000:]}")
            time.sleep(0.3)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise


Start = Callable[..., Service]


def kill_all(started: list[Service]) -> None:
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(timeout=10)


def metric(text: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def cli_environment(url: str, directory: Path, recipient: str, **extra: str) -> dict[str, str]:
    """An operator's environment: settings only; a private key is never one of them."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        # The package under test, also when the venv's install points at another checkout.
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "BACKUP_DIR": str(directory),
        "BACKUP_AGE_RECIPIENT": recipient,
        **extra,
    }


def run_backup(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SIGNUPFLOW), "backup", *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
