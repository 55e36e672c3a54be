"""`signupflow backup schedule` as the backup service runs it: a real process on a short
interval against a real PostgreSQL and a local S3 server, scraped over HTTP, alerting a real
local HTTP server when a run fails."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from harness.ports import free_port
from harness.postgres import PostgresCluster
from signupflow.backup.schedule import next_daily_run, parse_clock
from tests.backup.support import POSTGRESQL_PASS_ONLY, AgeKey

SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
WAIT_S = 180  # two runs of create on a loaded 2-core machine, with room
SECRET = "s3-secret-that-must-not-be-logged"  # moto accepts any credentials


def test_the_daily_run_is_the_next_occurrence_of_the_time_in_utc() -> None:
    at = parse_clock("02:30")
    before = datetime(2030, 1, 6, 1, 0, tzinfo=UTC)
    after = datetime(2030, 1, 6, 2, 30, tzinfo=UTC)
    assert next_daily_run(before, at) == datetime(2030, 1, 6, 2, 30, tzinfo=UTC)
    assert next_daily_run(after, at) == datetime(2030, 1, 7, 2, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock("2.30")


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


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


class Service:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = int(env["BACKUP_METRICS_PORT"])
        self.stdout_path = log_dir / f"schedule-{self.port}.out"
        self.stderr_path = log_dir / f"schedule-{self.port}.err"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [str(SIGNUPFLOW), "backup", "schedule"], env=env, stdout=out, stderr=err
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


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Service]]:
    started: list[Service] = []

    def start(env: dict[str, str]) -> Service:
        service = Service(env, tmp_path)
        started.append(service)
        return service

    yield start
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(timeout=10)


def metric(text: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def service_environment(url: str, directory: Path, key: AgeKey, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        # The package under test, also when the venv's install points at another checkout.
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "BACKUP_DIR": str(directory),
        "BACKUP_AGE_RECIPIENT": key.recipient,
        "BACKUP_METRICS_HOST": "127.0.0.1",
        "BACKUP_METRICS_PORT": str(free_port()),
        **extra,
    }


@POSTGRESQL_PASS_ONLY
def test_the_service_creates_uploads_and_reports_each_run_without_the_private_key(
    tmp_path: Path,
    key: AgeKey,
    seeded_url: str,
    s3_settings: dict[str, object],
    services: Callable[[dict[str, str]], Service],
) -> None:
    secret_file = tmp_path / "s3_secret_access_key"
    secret_file.write_text(SECRET + "\n")
    backup_dir = tmp_path / "backups"
    metrics_file = tmp_path / "textfile" / "signupflow-backup.prom"
    env = service_environment(
        seeded_url,
        backup_dir,
        key,
        BACKUP_SCHEDULE_INTERVAL_S="2",
        BACKUP_METRICS_FILE=str(metrics_file),
        BACKUP_S3_BUCKET=str(s3_settings["backup_s3_bucket"]),
        BACKUP_S3_ENDPOINT_URL=str(s3_settings["backup_s3_endpoint_url"]),
        BACKUP_S3_ACCESS_KEY_ID="test",
        # A Compose secret, as in production: only the path is in the environment.
        BACKUP_S3_SECRET_ACCESS_KEY_FILE=str(secret_file),
    )
    service = services(env)
    started = time.time()

    # Two good runs: the loop goes on after the first.
    service.wait_for(
        lambda: (metric(service.metrics(), 'signupflow_backup_runs_total{status="ok"}') or 0) >= 2,
        "two good runs",
    )

    scraped = service.metrics()
    assert metric(scraped, "signupflow_backup_last_run_success") == 1
    assert metric(scraped, "signupflow_backup_last_run_exit_code") == 0
    assert metric(scraped, 'signupflow_backup_runs_total{status="failed"}') == 0
    last_good = metric(scraped, "signupflow_backup_last_success_timestamp_seconds")
    assert last_good is not None
    assert started < last_good <= time.time()
    assert 0 <= (metric(scraped, "signupflow_backup_last_success_age_seconds") or -1) < WAIT_S
    assert (metric(scraped, 'signupflow_backup_last_size_bytes{kind="encrypted"}') or 0) > 0
    assert (metric(scraped, 'signupflow_backup_step_duration_seconds{step="create"}') or 0) > 0
    assert 'step="verify"' not in scraped  # the drill verifies, where the key is
    assert "signupflow_backup_last_run_success 1" in metrics_file.read_text()

    events = service.events()
    steps = [e for e in events if e["event"] == "backup_step"]
    assert len(steps) >= 2
    assert {e["step"] for e in steps} == {"create"}
    assert all(e["exit_code"] == 0 and e["status"] == "ok" for e in steps)
    assert "created " in steps[-1]["output"]
    name = json.loads((backup_dir / ".schedule-state.json").read_text())["last_success_name"]
    manifest = json.loads((backup_dir / f"{name}.manifest.json").read_text())
    assert manifest["offsite_verified"] is True
    assert manifest["dump_tables_listed"] >= len(manifest["tables"])
    client = boto3.client(
        "s3",
        endpoint_url=str(s3_settings["backup_s3_endpoint_url"]),
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    listed = client.list_objects_v2(Bucket=str(s3_settings["backup_s3_bucket"]))
    keys = {item["Key"] for item in listed.get("Contents", [])}
    assert f"signupflow/{name}.manifest.json" in keys
    assert f"signupflow/{name}.dump.age" in keys

    assert service.stop() == 0
    assert any(e["event"] == "backup_service_stopped" for e in service.events())
    assert SECRET not in service.output()

    # A restarted service still knows when the last good backup was made.
    again = services({**env, "BACKUP_SCHEDULE_INTERVAL_S": "3600", "BACKUP_METRICS_FILE": ""})
    again.wait_for(lambda: bool(again.metrics()), "metrics after a restart")
    restarted = again.metrics()
    assert metric(restarted, "signupflow_backup_last_success_timestamp_seconds") == pytest.approx(
        json.loads((backup_dir / ".schedule-state.json").read_text())["last_success_at"]
    )
    assert again.stop() == 0


@POSTGRESQL_PASS_ONLY
def test_a_failed_run_is_logged_with_its_exit_code_alerts_the_webhook_and_sets_the_metric(
    tmp_path: Path,
    key: AgeKey,
    pg_cluster: PostgresCluster,
    webhook: Webhook,
    services: Callable[[dict[str, str]], Service],
) -> None:
    missing_database = pg_cluster.url("no_such_database_for_backups")
    env = service_environment(
        missing_database,
        tmp_path / "backups",
        key,
        BACKUP_SCHEDULE_INTERVAL_S="3600",
        BACKUP_SCHEDULE_RUN_ON_START="true",
        BACKUP_ALERT_WEBHOOK_URL=webhook.url,
    )
    service = services(env)

    service.wait_for(lambda: bool(webhook.bodies), "webhook call")
    service.wait_for(
        lambda: metric(service.metrics(), "signupflow_backup_last_run_success") is not None,
        "run status metric",
    )

    alert = webhook.bodies[0]
    assert alert["event"] == "backup_failed"
    assert alert["step"] == "create"
    assert alert["exit_code"] == 7  # database failure, as documented for `backup create`
    assert "no_such_database_for_backups" in alert["message"]
    scraped = service.metrics()
    assert metric(scraped, "signupflow_backup_last_run_success") == 0
    assert metric(scraped, "signupflow_backup_last_run_exit_code") == 7
    assert metric(scraped, 'signupflow_backup_runs_total{status="failed"}') == 1
    assert "signupflow_backup_last_success_timestamp_seconds" not in scraped
    finished = [e for e in service.events() if e["event"] == "backup_run_finished"]
    assert finished == [
        {**finished[0], "status": "failed", "step": "create", "exit_code": 7},
    ]
    assert any(
        e["event"] == "backup_alert_sent" and e["status_code"] == 204 for e in service.events()
    )
    # A failed run does not end the service: the next one is scheduled.
    assert service.process.poll() is None
    assert service.stop() == 0


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("BACKUP_SCHEDULE_AT", "25:99", "BACKUP_SCHEDULE_AT must be HH:MM"),
        ("BACKUP_ALERT_WEBHOOK_URL", "file:///etc/passwd", "must be an http:// or https:// URL"),
        ("BACKUP_AGE_RECIPIENT", "", "BACKUP_AGE_RECIPIENT (age public key) is not set"),
        ("BACKUP_AGE_IDENTITY_FILE", "/run/secrets/backup_age_identity", "holds only the public"),
    ],
)
def test_an_unusable_configuration_exits_2_before_running(
    tmp_path: Path, key: AgeKey, setting: str, value: str, message: str
) -> None:
    env = service_environment(
        "postgresql+psycopg://postgres@127.0.0.1:1/x",
        tmp_path / "backups",
        key,
        **{setting: value},
    )
    done = subprocess.run(
        [str(SIGNUPFLOW), "backup", "schedule"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
