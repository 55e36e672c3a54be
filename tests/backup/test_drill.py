"""`signupflow backup drill` as the recovery host runs it: a real process that restores the
newest backup from S3 into a scratch database with the key it was given, reports it on its
metrics and alerts a real webhook when the drill fails."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.postgres import PostgresCluster
from signupflow.backup.archive import Backups
from tests.backup.services import Start, Webhook, cli_environment, metric, run_backup
from tests.backup.support import (
    POSTGRESQL_PASS_ONLY,
    AgeKey,
    backup_settings,
    make_key,
    scratch_databases,
)

pytestmark = POSTGRESQL_PASS_ONLY


def drill_environment(
    url: str, directory: Path, s3_settings: dict[str, object], **extra: str
) -> dict[str, str]:
    # The recovery host needs no recipient, only the bucket and a server for scratch databases.
    return cli_environment(
        url,
        directory,
        "",
        BACKUP_S3_BUCKET=str(s3_settings["backup_s3_bucket"]),
        BACKUP_S3_ENDPOINT_URL=str(s3_settings["backup_s3_endpoint_url"]),
        BACKUP_S3_ACCESS_KEY_ID="test",
        BACKUP_S3_SECRET_ACCESS_KEY="test",
        BACKUP_SCHEDULE_RUN_ON_START="true",
        BACKUP_SCHEDULE_INTERVAL_S="3600",
        BACKUP_METRICS_HOST="127.0.0.1",
        BACKUP_METRICS_PORT=str(free_port()),
        **extra,
    )


def test_the_drill_restores_the_newest_backup_from_s3_and_reports_it(
    tmp_path: Path,
    key: AgeKey,
    seeded_url: str,
    s3_settings: dict[str, object],
    pg_cluster: PostgresCluster,
    webhook: Webhook,
    services: Start,
) -> None:
    server = Backups(backup_settings(tmp_path / "server", key, **s3_settings), seeded_url)
    server.create()
    newest = server.create()
    good_dir, bad_dir = tmp_path / "drill", tmp_path / "drill-wrong-key"
    good = services(
        drill_environment(seeded_url, good_dir, s3_settings),
        ("drill", "--identity-file", str(key.identity_file)),
    )
    wrong_key = make_key(tmp_path / "other")
    bad = services(
        drill_environment(seeded_url, bad_dir, s3_settings, BACKUP_ALERT_WEBHOOK_URL=webhook.url),
        ("drill", "--identity-file", str(wrong_key.identity_file)),
    )

    for drill in (good, bad):
        drill.wait_for(
            lambda d=drill: (
                metric(d.metrics(), "signupflow_backup_drill_last_run_success") is not None
            ),
            "a drill run",
        )

    scraped = good.metrics()
    assert metric(scraped, "signupflow_backup_drill_last_run_success") == 1
    assert metric(scraped, "signupflow_backup_drill_last_run_exit_code") == 0
    assert metric(scraped, "signupflow_backup_drill_last_success_timestamp_seconds") is not None
    assert metric(
        scraped, "signupflow_backup_drill_last_success_backup_created_timestamp_seconds"
    ) == pytest.approx(newest.created_at.timestamp())
    assert (
        metric(scraped, 'signupflow_backup_drill_step_duration_seconds{step="verify"}') or 0
    ) > 0
    assert metric(scraped, "signupflow_backup_drill_last_success_offsite_verified") == 1
    state = json.loads((good_dir / ".drill-state.json").read_text())
    assert state["last_success_name"] == newest.name
    assert not list(good_dir.glob("*.dump.age")), "the drill keeps no downloaded archive"
    assert [e["event"] for e in good.events()].count("backup_drill_step") == 1

    failed = bad.metrics()
    assert metric(failed, "signupflow_backup_drill_last_run_success") == 0
    assert metric(failed, "signupflow_backup_drill_last_run_exit_code") == 5
    assert "signupflow_backup_drill_last_success_timestamp_seconds" not in failed
    bad.wait_for(lambda: bool(webhook.bodies), "the failure webhook")
    alert = webhook.bodies[0]
    assert (alert["event"], alert["service"], alert["step"], alert["exit_code"]) == (
        "backup_drill_failed",
        "signupflow-backup-drill",
        "verify",
        5,
    )
    assert "does not match its recipient" in alert["message"]
    assert datetime.fromisoformat(alert["time"])

    assert good.stop() == 0
    assert bad.stop() == 0
    assert scratch_databases(pg_cluster) == []
    secret_line = key.identity_file.read_text().splitlines()[1]
    assert secret_line not in good.output() + bad.output()


def test_the_drill_refuses_an_unusable_key_before_running(
    tmp_path: Path, key: AgeKey, s3_settings: dict[str, object]
) -> None:
    env = drill_environment("postgresql+psycopg://postgres@127.0.0.1:1/x", tmp_path, s3_settings)
    for identity, message in (
        (str(tmp_path / "missing"), "cannot read the identity file"),
        ("-", "give a file"),
    ):
        done = run_backup("drill", "--identity-file", identity, env=env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert message in done.stderr
