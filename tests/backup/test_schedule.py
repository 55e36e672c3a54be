"""`signupflow backup schedule` as the backup service runs it: a real process on a short
interval against a real PostgreSQL and a local S3 server, scraped over HTTP, alerting a real
local HTTP server when a run fails."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.postgres import PostgresCluster
from signupflow.backup.schedule import next_daily_run, parse_clock
from tests.backup.services import WAIT_S, Start, Webhook, cli_environment, metric
from tests.backup.support import POSTGRESQL_PASS_ONLY, AgeKey, s3_client

SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
SECRET = "s3-secret-that-must-not-be-logged"  # moto accepts any credentials


def test_the_daily_run_is_the_next_occurrence_of_the_time_in_utc() -> None:
    at = parse_clock("02:30")
    before = datetime(2030, 1, 6, 1, 0, tzinfo=UTC)
    after = datetime(2030, 1, 6, 2, 30, tzinfo=UTC)
    assert next_daily_run(before, at) == datetime(2030, 1, 6, 2, 30, tzinfo=UTC)
    assert next_daily_run(after, at) == datetime(2030, 1, 7, 2, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock("2.30")


def service_environment(url: str, directory: Path, key: AgeKey, **extra: str) -> dict[str, str]:
    """The operator's environment plus where the service serves its metrics."""
    metrics = {"BACKUP_METRICS_HOST": "127.0.0.1", "BACKUP_METRICS_PORT": str(free_port())}
    return cli_environment(url, directory, key.recipient, **metrics, **extra)


@POSTGRESQL_PASS_ONLY
def test_the_service_creates_uploads_and_reports_each_run_without_the_private_key(
    tmp_path: Path,
    key: AgeKey,
    seeded_url: str,
    s3_settings: dict[str, object],
    services: Start,
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
    assert metric(scraped, "signupflow_backup_last_success_offsite_verified") == 1
    assert (metric(scraped, "signupflow_backup_last_success_tables_listed") or 0) > 10
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
    client = s3_client(s3_settings)
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
    services: Start,
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
