"""The README's first command: `make run` serves the demo and the OpenAPI docs, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from harness.ports import free_port
from signupflow.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.settings import BACKEND

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
DEMO_EVENTS = [f"Service {i:02d}" for i in range(1, 11)]  # demo.load_demo_if_empty: events=10

pytestmark = pytest.mark.skipif(
    BACKEND == "postgresql",
    reason="`make run` always serves SQLite; it runs once, in the SQLite pass",
)


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"`make run` exited early:\n{log.read_text()}"
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"no healthy server within {START_TIMEOUT_S} s:\n{log.read_text()}")


def test_make_run_serves_the_demo_and_the_openapi_docs(repo_root: Path, tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    log = tmp_path / "make-run.log"
    # What a developer's shell provides, minus anything that would change what `make run` does.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
    }
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"DATA_DIR={data_dir}"],
            cwd=repo_root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(base_url, process, log)
        with httpx.Client(base_url=base_url, timeout=10) as client:
            docs = client.get("/docs")
            assert docs.status_code == 200
            assert docs.headers["content-type"].startswith("text/html")
            assert "swagger-ui" in docs.text
            assert "/api/v1/openapi.json" in docs.text

            openapi = client.get("/api/v1/openapi.json")
            assert openapi.status_code == 200
            document = openapi.json()
            assert document["info"]["title"] == "SignUpFlow"
            assert {"/api/v1/auth/login", "/api/v1/events"} <= set(document["paths"])

            login = client.post(
                "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            )
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            events = client.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"})
            assert events.status_code == 200, events.text
            page = events.json()
            assert page["total"] == len(DEMO_EVENTS)
            assert [event["title"] for event in page["items"]] == DEMO_EVENTS

        assert (data_dir / "signupflow.db").is_file()

        os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and (
            process.poll() is None
            or is_listening(port)
            or "Finished server process" not in log.read_text()
        ):
            time.sleep(0.1)
        assert process.poll() is not None, "`make run` still running after SIGTERM"
        assert not is_listening(port), "the server outlived `make run`"
        assert "Finished server process" in log.read_text(), log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
