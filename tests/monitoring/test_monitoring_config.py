"""The monitoring stack's configuration (deploy/monitoring/): Prometheus' through `promtool
check config` (rule files included), Alertmanager's through `amtool check-config`, the
blackbox exporter's through its own `--config.check`; each check is shown failing on a broken
copy. And what the files promise: every job the stack scrapes, every alert routed by severity
to a webhook that hears when it resolves.

The start scripts that render these files inside the containers are run in the images by
tests/deploy/test_monitoring_images.py; the live stack by
tests/deploy/operated/test_monitoring_stack.py.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.monitoring_files import MONITORING, require_tool
from tests.support.settings import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="configuration checks run once, in the TEST_DATABASE=postgresql pass",
)

PROMETHEUS = MONITORING / "prometheus.yml"
ALERTMANAGER = MONITORING / "alertmanager.yml"
BLACKBOX = MONITORING / "blackbox.yml"
# The contract between the monitoring helpers (prometheus.yml's jobs, the rules' selectors).
JOBS = {
    "app",
    "app-ready",
    "worker",
    "backup",
    "pgbackrest",
    "postgres",
    "redis",
    "node",
    "certificates",
    "prometheus",
    "alertmanager",
    "blackbox",
}
# Paths inside the Prometheus container, and where a check on this host finds them instead.
CONTAINER_PATHS = {
    "/run/secrets/metrics_token": "metrics_token",
    "/etc/prometheus/rules/": "rules/",
    "/tmp/prometheus-targets/": "targets/",
}
TIMEOUT_S = 60


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


# --- Prometheus --------------------------------------------------------------------------------


def prometheus_here(text: str, directory: Path) -> Path:
    """prometheus.yml with the container's paths pointed at `directory`, which holds what the
    container would: the token, the rule files, the certificates job's targets."""
    (directory / "metrics_token").write_text("token\n")
    (directory / "rules").mkdir(exist_ok=True)
    for rules in sorted((MONITORING / "rules").glob("*.yml")):
        shutil.copy(rules, directory / "rules" / rules.name)
    (directory / "targets").mkdir(exist_ok=True)
    (directory / "targets" / "certificates.json").write_text(
        '[{"targets": ["signup.example.org"]}]\n'
    )
    for inside, here in CONTAINER_PATHS.items():
        text = text.replace(inside, f"{directory}/{here}")
    path = directory / "prometheus.yml"
    path.write_text(text)
    return path


def promtool_check(path: Path) -> subprocess.CompletedProcess[str]:
    return run(require_tool("promtool", "prometheus"), "check", "config", str(path))


def test_prometheus_configuration_passes_promtool_with_its_rule_files(tmp_path: Path) -> None:
    done = promtool_check(prometheus_here(PROMETHEUS.read_text(), tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def _unknown_field(config: dict[str, Any]) -> None:
    config["scrape_configs"][0]["scrape_intervall"] = "15s"


def _duplicate_job(config: dict[str, Any]) -> None:
    config["scrape_configs"].append(dict(config["scrape_configs"][0]))


def _bad_duration(config: dict[str, Any]) -> None:
    config["global"]["scrape_interval"] = "fifteen seconds"


def _missing_token(config: dict[str, Any]) -> None:
    config["scrape_configs"][0]["authorization"]["credentials_file"] = "/nonexistent/token"


@pytest.mark.parametrize(
    "break_it", [_unknown_field, _duplicate_job, _bad_duration, _missing_token]
)
def test_promtool_refuses_a_broken_prometheus_configuration(
    tmp_path: Path, break_it: Callable[[dict[str, Any]], None]
) -> None:
    config = load(PROMETHEUS)
    break_it(config)
    done = promtool_check(prometheus_here(yaml.safe_dump(config), tmp_path))
    assert done.returncode != 0, done.stdout


def test_promtool_refuses_a_broken_rule_file_that_prometheus_would_load(tmp_path: Path) -> None:
    path = prometheus_here(PROMETHEUS.read_text(), tmp_path)
    (tmp_path / "rules" / "zz-broken.yml").write_text(
        "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: up ==\n"
    )
    done = promtool_check(path)
    assert done.returncode != 0, done.stdout


def test_prometheus_scrapes_every_job_of_the_stack() -> None:
    jobs = [job["job_name"] for job in load(PROMETHEUS)["scrape_configs"]]
    assert set(jobs) == JOBS
    assert len(jobs) == len(set(jobs))


def test_app_replicas_are_found_by_dns_and_scraped_with_the_bearer_token() -> None:
    jobs = {job["job_name"]: job for job in load(PROMETHEUS)["scrape_configs"]}
    app = jobs["app"]
    assert app["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/run/secrets/metrics_token",
    }
    # Every replica, whatever its colour or number: the service name, not container names.
    assert app["dns_sd_configs"] == [
        {"names": ["app"], "type": "A", "port": 8000, "refresh_interval": "10s"}
    ]
    assert jobs["app-ready"]["dns_sd_configs"] == app["dns_sd_configs"]
    assert jobs["app-ready"]["params"] == {"module": ["http_ready"]}
    assert jobs["certificates"]["params"] == {"module": ["https_edge"]}
    for name, port in (("worker", 9100), ("backup", 9108), ("pgbackrest", 9109)):
        assert jobs[name]["dns_sd_configs"][0]["names"] == [name]
        assert jobs[name]["dns_sd_configs"][0]["port"] == port
    # The rules of deploy/monitoring/rules/, and the one prometheus-start.sh writes
    # (signupflow:app_replicas_expected from APP_REPLICAS).
    assert load(PROMETHEUS)["rule_files"] == [
        "/etc/prometheus/rules/*.yml",
        "/tmp/prometheus-rules/*.yml",
    ]


# --- Alertmanager ------------------------------------------------------------------------------


def amtool_check(path: Path) -> subprocess.CompletedProcess[str]:
    return run(require_tool("amtool", "prometheus-alertmanager"), "check-config", str(path))


def test_alertmanager_configuration_passes_amtool() -> None:
    done = amtool_check(ALERTMANAGER)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "broken",
    [
        # Alertmanager 0.25 has no url_file: the reason alertmanager-start.sh renders the URL.
        "receivers:\n  - name: webhook\n    webhook_configs:\n      - url_file: /run/x\n"
        "route:\n  receiver: webhook\n",
        "route:\n  receiver: nobody\nreceivers:\n  - name: webhook\n",
        "route:\n  receiver: webhook\n  group_wait: soon\nreceivers:\n  - name: webhook\n",
    ],
    ids=["url-file", "unknown-receiver", "bad-duration"],
)
def test_amtool_refuses_a_broken_alertmanager_configuration(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(broken)
    done = amtool_check(path)
    assert done.returncode != 0, done.stdout


def test_alerts_are_routed_by_severity_to_a_webhook_that_hears_the_resolution() -> None:
    config = load(ALERTMANAGER)
    route = config["route"]
    severities = {tuple(child["matchers"]) for child in route["routes"]}
    assert severities == {('severity = "page"',), ('severity = "ticket"',)}
    page = next(c for c in route["routes"] if c["matchers"] == ['severity = "page"'])
    # A page reaches the webhook within seconds of Prometheus sending it.
    assert page["group_wait"] == "10s"
    (receiver,) = config["receivers"]
    (webhook,) = receiver["webhook_configs"]
    assert webhook["send_resolved"] is True
    # The placeholder alertmanager-start.sh replaces with the secret; never a real URL here.
    assert webhook["url"] == "https://alert-webhook-url.invalid/"
    start = (MONITORING / "alertmanager-start.sh").read_text()
    assert "placeholder=https://alert-webhook-url.invalid/" in start


# --- the blackbox exporter ---------------------------------------------------------------------


def blackbox_check(path: Path) -> subprocess.CompletedProcess[str]:
    binary = require_tool("prometheus-blackbox-exporter")
    return run(binary, f"--config.file={path}", "--config.check")


def test_blackbox_configuration_passes_the_exporters_own_check() -> None:
    done = blackbox_check(BLACKBOX)
    assert done.returncode == 0, done.stdout + done.stderr
    # No deprecated option either (it would be removed in a later release).
    assert "deprecated" not in done.stderr


def test_blackbox_check_refuses_a_broken_configuration(tmp_path: Path) -> None:
    config = load(BLACKBOX)
    config["modules"]["https_edge"]["http"]["tls_config"]["verify"] = False
    path = tmp_path / "blackbox.yml"
    path.write_text(yaml.safe_dump(config))
    done = blackbox_check(path)
    assert done.returncode != 0, done.stdout + done.stderr


def test_certificate_probes_verify_the_chain_and_probes_name_their_modules() -> None:
    modules = load(BLACKBOX)["modules"]
    https = modules["https_edge"]["http"]
    assert https["fail_if_not_ssl"] is True
    assert https["tls_config"]["insecure_skip_verify"] is False
    assert https["tls_config"]["ca_file"] == "/etc/ssl/acme-ca.pem"
    used = {
        module
        for job in load(PROMETHEUS)["scrape_configs"]
        for module in (job.get("params") or {}).get("module", [])
    }
    assert used == set(modules)
