"""The alert and recording rules (deploy/monitoring/rules/) through promtool, and the guards of
deploy/monitoring/check.py (`make monitoring-check`), each shown failing on a bad copy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ops.monitoring_files import CHECK, LAYOUT, check
from tests.support.settings import BACKEND

pytestmark = [
    pytest.mark.skipif(
        BACKEND != "sqlite", reason="offline checks of files: run once, in the SQLite pass"
    ),
    pytest.mark.usefixtures("promtool"),
]

# The issue's alerts, by the names the other parts of the stack use (docs/runbook.md anchors).
ISSUE_ALERTS = {
    "SignUpFlowInstanceDown",
    "SignUpFlowHighErrorRate",
    "SignUpFlowLatencySLO",
    "SignUpFlowWorkerQueueGrowing",
    "SignUpFlowBackupTooOld",
    "SignUpFlowBackupFailed",
    "SignUpFlowNoBackup",
    "SignUpFlowWALArchivingStalled",
    "SignUpFlowCertificateExpiring",
    "SignUpFlowDiskFull",
    "SignUpFlowDatabaseConnections",
}


def run_check(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`make monitoring-check`: the script as a command."""
    return subprocess.run(
        [sys.executable, str(CHECK), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new))


def test_every_rule_file_passes_promtool_check() -> None:
    assert check.check_rule_syntax(LAYOUT) == []


def test_every_promtool_test_passes() -> None:
    assert check.run_rule_tests(LAYOUT) == []


def test_every_rule_file_is_loaded_by_a_promtool_test() -> None:
    assert check.check_every_rule_file_is_tested(LAYOUT) == []


def test_every_alert_has_a_promtool_test_that_expects_it_firing() -> None:
    assert check.check_every_alert_is_tested(LAYOUT) == []


def test_every_alert_has_a_promtool_test_that_expects_it_cleared_after_firing() -> None:
    assert check.check_every_alert_is_tested_clearing(LAYOUT) == []


def test_every_alert_has_severity_annotations_and_a_runbook_section() -> None:
    assert check.check_alert_metadata(LAYOUT) == []


def test_the_issues_alerts_all_exist() -> None:
    assert check.alert_names(LAYOUT.rule_files()) >= ISSUE_ALERTS


def test_make_monitoring_check_passes_and_says_what_it_checked() -> None:
    done = run_check()
    assert done.returncode == 0, done.stderr
    assert re.search(r"\d+ alerts, \d+ recorded series, \d+ promtool tests", done.stdout)


@pytest.mark.parametrize(
    ("rules", "old", "new", "alert"),
    [
        ("slo.yml", "ratio_rate2m > 0.02", "ratio_rate2m > 0.06", "SignUpFlowHighErrorRate"),
        ("slo.yml", "ratio_rate5m > 0.01", "ratio_rate5m > 0.05", "SignUpFlowLatencySLO"),
        (
            "availability.yml",
            'absent(up{job="worker"})\n        for: 1m',
            'absent(up{job="worker"})\n        for: 3m',
            "SignUpFlowInstanceDown",
        ),
        (
            "availability.yml",
            "count < signupflow:app_replicas_expected",
            "count < signupflow:app_replicas_expected - 1",
            "SignUpFlowInstanceDown",
        ),
        ("worker.yml", "[10m:1m]", "[15m:1m]", "SignUpFlowWorkerQueueGrowing"),
        ("saturation.yml", "ratio > 0.85", "ratio > 0.95", "SignUpFlowDiskFull"),
        ("saturation.yml", "ratio > 0.8\n", "ratio > 0.9\n", "SignUpFlowDatabaseConnections"),
        ("certificates.yml", "days < 15", "days < 14", "SignUpFlowCertificateExpiring"),
        (
            "backups.yml",
            "signupflow_backup_last_success_timestamp_seconds > 26 * 3600",
            "signupflow_backup_last_success_timestamp_seconds > 30 * 3600",
            "SignUpFlowBackupTooOld",
        ),
        ("backups.yml", "> 300", "> 900", "SignUpFlowWALArchivingStalled"),
    ],
)
def test_a_changed_threshold_fails_the_alerts_promtool_test(
    copy: check.Layout, rules: str, old: str, new: str, alert: str
) -> None:
    replace(copy.rules / rules, old, new)
    for test in copy.test_files():  # only the tests of the changed file, for speed
        if f"../rules/{rules}" not in test.read_text():
            test.unlink()
    assert check.check_rule_syntax(copy) == []
    problems = check.run_rule_tests(copy)
    assert problems
    assert f"alertname: {alert}" in "".join(problems)


def test_a_rule_promtool_cannot_parse_is_refused(copy: check.Layout) -> None:
    replace(copy.rules / "slo.yml", "ratio_rate2m > 0.02", "ratio_rate2m > > 0.02")
    [problem] = check.check_rule_syntax(copy)
    assert "slo.yml" in problem
    assert "parse error" in problem


def test_an_alert_without_runbook_url_severity_or_runbook_section_is_refused(
    copy: check.Layout,
) -> None:
    replace(
        copy.rules / "slo.yml", "          runbook_url: docs/runbook.md#signupflowlatencyslo\n", ""
    )
    replace(copy.rules / "worker.yml", "severity: ticket", "severity: warning")
    replace(copy.runbook, "## SignUpFlowDiskFull\n", "## Disk full\n")
    assert set(check.check_alert_metadata(copy)) == {
        "SignUpFlowLatencySLO: no runbook_url annotation",
        "SignUpFlowWorkerQueueGrowing: severity 'warning', not one of page, ticket",
        "SignUpFlowDiskFull: runbook.md has no heading for #signupflowdiskfull",
    }


def test_an_alert_no_test_expects_firing_is_refused(copy: check.Layout) -> None:
    rules = copy.rules / "certificates.yml"
    document = yaml.safe_load(rules.read_text())
    document["groups"][0]["rules"].append(
        {
            "alert": "SignUpFlowCertificateProbeFailing",
            "expr": 'probe_success{job="certificates"} == 0',
            "labels": {"severity": "ticket"},
        }
    )
    rules.write_text(yaml.safe_dump(document))
    assert check.check_every_alert_is_tested(copy) == [
        "SignUpFlowCertificateProbeFailing: no promtool test expects it firing"
    ]


RENEWED = """\
      - eval_time: 20m
        alertname: SignUpFlowCertificateExpiring
        exp_alerts: []
"""


@pytest.mark.parametrize(
    "renewal",
    [
        pytest.param("", id="the-case-after-the-renewal-removed"),
        # A quiet case before it fired says nothing about the alert resolving.
        pytest.param(RENEWED.replace("20m", "6m"), id="only-quiet-before-it-fired"),
    ],
)
def test_an_alert_no_test_expects_cleared_after_firing_is_refused(
    copy: check.Layout, renewal: str
) -> None:
    replace(copy.tests / "certificates.test.yml", RENEWED, renewal)
    assert check.check_every_alert_is_tested(copy) == []
    assert check.check_every_alert_is_tested_clearing(copy) == [
        "SignUpFlowCertificateExpiring: no promtool test expects it cleared (exp_alerts: [] "
        "at an eval_time after it fired, in the same test)"
    ]


def test_the_eval_times_of_the_clearing_guard_are_read_as_prometheus_durations() -> None:
    assert check.duration_seconds("27h5m") == 27 * 3600 + 5 * 60
    assert check.duration_seconds("90s") == check.duration_seconds("1m30s") == 90
    assert check.duration_seconds("0m") == 0
    assert check.duration_seconds("soon") is None


def test_a_rule_file_no_test_loads_is_refused(copy: check.Layout) -> None:
    (copy.rules / "redis.yml").write_text(
        "groups:\n  - name: redis\n    rules:\n      - record: x:y\n        expr: up\n"
    )
    assert check.check_every_rule_file_is_tested(copy) == [
        f"redis.yml: no promtool test in {copy.tests} loads it"
    ]


def test_the_command_fails_with_a_message_on_a_broken_copy(copy: check.Layout) -> None:
    replace(copy.rules / "certificates.yml", "days < 15", "days < 14")
    done = run_check("--monitoring", str(copy.rules.parent))
    assert done.returncode == 1
    assert "certificates.test.yml" in done.stderr
    assert "monitoring check: 1 problem(s)" in done.stderr


# --- the SLO and the metrics the rules read ---------------------------------------------------


def slo_rules() -> list[dict[str, object]]:
    return list(check.rules_of([LAYOUT.rules / "slo.yml"]))


def test_each_latency_target_is_a_histogram_bucket_and_the_bound_the_slow_ratio_reads() -> None:
    from signupflow.ops.metrics import LATENCY

    buckets = set(LATENCY._upper_bounds)  # type: ignore[attr-defined]
    targets = {
        str(rule["labels"]["slo"]): float(re.sub(r"vector\((.*)\)", r"\1", str(rule["expr"])))  # type: ignore[index]
        for rule in slo_rules()
        if rule.get("record") == "signupflow:slo_latency_p99_target_seconds"
    }
    assert targets == {"api": 0.5, "health": 0.2}
    slow = {
        str(rule["labels"]["slo"]): float(re.findall(r'le="([^"]+)"', str(rule["expr"]))[0])  # type: ignore[index]
        for rule in slo_rules()
        if rule.get("record") == "signupflow:http_requests_slow:ratio_rate5m"
    }
    assert slow == targets
    assert set(targets.values()) <= buckets


def test_every_app_metric_the_rules_read_is_one_the_app_or_worker_exposes() -> None:
    from prometheus_client import REGISTRY

    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
    exposed = {
        f"{metric.name}{suffix}"
        for metric in REGISTRY.collect()
        for suffix in suffixes.get(metric.type, ())
    }
    exposed |= {"signupflow_db_pool_connections"}  # PoolCollector, registered per app
    read = {
        name
        for name in check.read_by_rules(LAYOUT.rule_files())
        if name.startswith("signupflow_") and not name.startswith("signupflow_backup_")
    }
    assert read
    assert read <= exposed, f"rules read metrics the app does not expose: {read - exposed}"
