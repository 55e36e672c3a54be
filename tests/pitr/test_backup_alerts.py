"""The backup alert rules read only metrics that the collectors write. (promtool checks and tests
every rule file: tests/ops/test_alert_rules.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from harness.repository import script_module
from tests.support.settings import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="backup and PITR checks run once, in the TEST_DATABASE=postgresql pass",
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "monitoring" / "rules" / "backups.yml"


def metrics_module() -> ModuleType:
    return script_module(DEPLOY / "pgbackrest" / "backup_metrics.py")


def test_every_metric_the_alerts_read_is_one_the_collector_writes() -> None:
    module = metrics_module()
    info = [
        {
            "name": "signupflow",
            "status": {"code": 0},
            "backup": [{"type": "full", "error": False, "timestamp": {"start": 1, "stop": 2}}],
        }
    ]
    written = module.render(
        [
            *module.backup_metrics(info, "signupflow", 10.0),
            *module.archiver_metrics(["1", "0", "5", "0", "0", "0"], 10.0),
            module.Metric(
                "pgbackrest_metrics_collected_timestamp_seconds", "h", "gauge", (({}, 10.0),)
            ),
        ]
    )
    names = {line.split("{")[0].split(" ")[0] for line in written.splitlines() if line[0] != "#"}
    groups = yaml.safe_load(RULES.read_text())["groups"]
    exprs = " ".join(rule["expr"] for group in groups for rule in group["rules"])
    used = set(re.findall(r"\b(?:pg_archiver|pgbackrest)_[a-z_]+", exprs))
    assert used
    assert used <= names, f"alerts read metrics nobody writes: {used - names}"


def test_a_failed_pgbackrest_info_reports_down_and_no_backup() -> None:
    module = metrics_module()
    written = module.render(module.backup_metrics(None, "signupflow", 10.0))
    assert 'pgbackrest_info_up{stanza="signupflow"} 0' in written
    assert 'pgbackrest_last_good_backup_age_seconds{stanza="signupflow"} +Inf' in written
    assert "pgbackrest_last_backup_timestamp_seconds{" not in written


def test_every_metric_the_backup_service_alerts_read_is_one_the_service_writes() -> None:
    from signupflow.backup.schedule import State, render_metrics

    state = State(
        last_success_at=5.0,
        last_success_name="b",
        last_run_at=5.0,
        last_run_ok=True,
        last_exit_code=0,
        step_seconds={"create": 1.0, "verify": 2.0},
        dump_bytes=10,
        archive_bytes=12,
        runs_ok=1,
        next_run_at=90.0,
    )
    written = render_metrics(state, 10.0)
    names = {line.split("{")[0].split(" ")[0] for line in written.splitlines() if line[0] != "#"}
    groups = yaml.safe_load(RULES.read_text())["groups"]
    texts = " ".join(
        rule["expr"] + json.dumps(rule.get("annotations", {}))
        for group in groups
        for rule in group["rules"]
    )
    used = set(re.findall(r"\bsignupflow_backup_[a-z_]+", texts))
    assert {"signupflow_backup_last_success_timestamp_seconds"} <= used
    assert used <= names, f"alerts read metrics the service does not write: {used - names}"
    assert "signupflow_backup_last_success_age_seconds 5" in written
