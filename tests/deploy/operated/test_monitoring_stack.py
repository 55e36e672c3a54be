"""The monitoring stack running in the production stack, on a real Docker engine: Prometheus
scrapes every target (each app replica with the bearer token, the worker, the backup service,
the pgBackRest sidecar, the exporters of PostgreSQL, Redis and the host, each replica's
readiness and each domain's certificate through the edge), and an outage reaches the
operator: one app replica stopped, SignUpFlowInstanceDown arrives at a webhook receiver within
5 minutes, and its resolution after the replica starts again. The times are printed in the
session summary.

The package's stack (conftest.py), Alertmanager posting to a receiver container of the test's
own on the stack's alert-egress network.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from harness.docker import docker_cmd
from harness.stack import ALERT_RECEIVER_ALIAS, ALERT_RECEIVER_PORT, DOMAINS, ProductionStack
from tests.deploy.containers import report
from tests.ops.monitoring_files import LAYOUT, check

ALERT = "SignUpFlowInstanceDown"
ALERT_LIMIT_S = 300  # the issue's: an outage reaches the operator within 5 minutes
RESOLVE_LIMIT_S = 300
TARGETS_UP_TIMEOUT_S = 120
PROBE_TIMEOUT_S = 60  # a few scrape intervals (15 s)
POLL_S = 2
# A webhook receiver that prints each POST as one JSON line (read back with `docker logs`).
RECEIVER = """\
import http.server, json, time

class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        print(json.dumps({"at": time.time(), "path": self.path, "body": json.loads(body)}),
              flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Receiver).serve_forever()
""".replace("PORT", str(ALERT_RECEIVER_PORT))
# Each job and how many targets it has in this stack (two replicas, two domains).
EXPECTED_TARGETS = {
    "app": 2,
    "app-ready": 2,
    "worker": 1,
    "backup": 1,
    "pgbackrest": 1,
    "postgres": 1,
    "redis": 1,
    "node": 1,
    "certificates": len(DOMAINS),
    "prometheus": 1,
    "alertmanager": 1,
    "blackbox": 1,
}
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def receiver(stack: ProductionStack, base_images: dict[str, str]) -> Iterator[str]:
    """The webhook receiver, on the network Alertmanager sends through; its container id."""
    name = f"{stack.project}-{ALERT_RECEIVER_ALIAS}-{uuid.uuid4().hex[:6]}"
    docker_cmd(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        f"{stack.project}_alert-egress",
        "--network-alias",
        ALERT_RECEIVER_ALIAS,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--memory",
        "64m",
        "--user",
        "65534:65534",
        base_images["python"],
        "python3",
        "-c",
        RECEIVER,
    )
    try:
        yield name
    finally:
        docker_cmd("rm", "--force", name, check=False)


def prometheus_api(stack: ProductionStack, path: str) -> Any:
    """GET Prometheus' HTTP API from inside its container (nothing is published)."""
    container = stack.containers("prometheus")[0]["Id"]
    result = docker_cmd("exec", container, "curl", "-fsS", f"http://127.0.0.1:9090{path}")
    answer = json.loads(result.stdout)
    assert answer["status"] == "success", answer
    return answer["data"]


def active_targets(stack: ProductionStack) -> list[dict[str, Any]]:
    return list(prometheus_api(stack, "/api/v1/targets?state=active")["activeTargets"])


def query(stack: ProductionStack, promql: str) -> list[dict[str, Any]]:
    return list(prometheus_api(stack, f"/api/v1/query?query={quote(promql)}")["result"])


def notifications(receiver: str) -> list[dict[str, Any]]:
    logs = docker_cmd("logs", receiver).stdout
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def alert_notifications(receiver: str, status: str) -> list[dict[str, Any]]:
    """The POSTs that carry ALERT in `status` (firing or resolved)."""
    found = []
    for notification in notifications(receiver):
        alerts = notification["body"]["alerts"]
        if any(a["labels"]["alertname"] == ALERT and a["status"] == status for a in alerts):
            found.append(notification)
    return found


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        outcome = predicate()
        if outcome:
            return outcome
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(POLL_S)


def describe(targets: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {t['labels']['job']} {t['labels'].get('instance')}: {t['health']} {t['lastError']}"
        for t in targets
    )


# --- every target is scraped -------------------------------------------------------------------


def test_prometheus_scrapes_every_target_of_the_stack(stack: ProductionStack) -> None:
    started = time.monotonic()
    last: list[dict[str, Any]] = []

    def all_up() -> bool:
        nonlocal last
        last = active_targets(stack)
        counts: dict[str, int] = {}
        for target in last:
            if target["health"] == "up":
                counts[target["labels"]["job"]] = counts.get(target["labels"]["job"], 0) + 1
        # The app's targets are the replicas running now (DNS is asked every 30 s, and the
        # tests before this one replaced replicas).
        return (
            counts == EXPECTED_TARGETS
            and all(t["health"] == "up" for t in last)
            and app_targets(last) == replica_addresses(stack)
        )

    try:
        wait_for(all_up, timeout=TARGETS_UP_TIMEOUT_S, what="every target up")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{describe(last)}") from None
    report(f"monitoring: {len(last)} targets up {time.monotonic() - started:.0f} s after start")


def replica_addresses(stack: ProductionStack) -> set[str]:
    """The running replicas' addresses on the monitoring network."""
    return {
        network["IPAddress"]
        for container in stack.running_replicas()
        for name, network in container["NetworkSettings"]["Networks"].items()
        if name == f"{stack.project}_monitoring"
    }


def app_targets(targets: list[dict[str, Any]]) -> set[str]:
    """The addresses Prometheus scrapes as the `app` job (DNS on the service name)."""
    return {
        t["labels"]["instance"].rsplit(":", 1)[0] for t in targets if t["labels"]["job"] == "app"
    }


def test_exporters_reach_what_they_export(stack: ProductionStack) -> None:
    # `up` says only that the exporter answered; these say it reached its service.
    for promql in ("pg_up", "redis_up", 'probe_success{job="app-ready"}'):
        wait_for(
            lambda promql=promql: {r["value"][1] for r in query(stack, promql)} == {"1"},
            timeout=PROBE_TIMEOUT_S,
            what=f"{promql} == 1",
        )
    # What the alert rules divide by: the server's own limit, read as the monitoring role.
    assert query(stack, "pg_settings_max_connections")
    assert query(stack, "node_filesystem_avail_bytes")
    # The backup services' own metrics, through their jobs.
    assert query(stack, 'signupflow_backup_scheduler_up{job="backup"} == 1')
    assert query(stack, 'pg_archiver_up{job="pgbackrest"}')
    # The app's own metrics, scraped with the bearer token.
    assert query(stack, 'signupflow_http_requests_total{job="app"}')


def test_each_domain_certificate_is_probed_through_the_edge(stack: ProductionStack) -> None:
    # A probe's scrape is `up` even when the probe failed (the first ones ran before Pebble's
    # root was written): wait for a successful probe of each domain, with its chain's expiry.
    def probed() -> dict[str, float]:
        results = query(
            stack,
            'probe_ssl_earliest_cert_expiry{job="certificates"} '
            'and on(instance) probe_success{job="certificates"} == 1',
        )
        found = {r["metric"]["instance"]: float(r["value"][1]) for r in results}
        return found if set(found) == set(DOMAINS) else {}

    by_domain = wait_for(probed, timeout=PROBE_TIMEOUT_S, what="each domain probed")
    # Pebble's certificates are valid for days; an unverified chain would not be reported.
    assert all(expiry > time.time() + 86400 for expiry in by_domain.values()), by_domain


# --- an outage reaches the webhook -------------------------------------------------------------


def test_a_stopped_replica_pages_within_five_minutes_and_resolves_when_it_is_back(
    stack: ProductionStack, receiver: str
) -> None:
    assert ALERT in check.alert_names(LAYOUT.rule_files()), (
        f"{ALERT} is not in {LAYOUT.rules} (the alert rules)"
    )
    # Everything is up before the outage, and nothing has paged about it yet.
    wait_for(
        lambda: query(stack, 'count(up{job="app"} == 1) == 2'),
        timeout=TARGETS_UP_TIMEOUT_S,
        what="both replicas scraped",
    )
    assert not alert_notifications(receiver, "firing")
    # What the stack runs (APP_REPLICAS, recorded by prometheus-start.sh), not its history.
    (expected,) = query(stack, "signupflow:app_replicas_expected")
    assert expected["value"][1] == "2", expected
    victim = stack.running_replicas()[0]["Id"]

    stopped_at = time.time()
    docker_cmd("stop", victim, timeout=60)
    fired = wait_for(
        lambda: alert_notifications(receiver, "firing"),
        timeout=ALERT_LIMIT_S,
        what=f"{ALERT} at the webhook",
    )
    alert_after = fired[0]["at"] - stopped_at
    alert = next(a for a in fired[0]["body"]["alerts"] if a["labels"]["alertname"] == ALERT)
    assert alert["labels"]["severity"] == "page", alert
    assert alert["annotations"]["runbook_url"].endswith("#signupflowinstancedown"), alert

    started_at = time.time()
    docker_cmd("start", victim, timeout=60)
    resolved = wait_for(
        lambda: [n for n in alert_notifications(receiver, "resolved") if n["at"] > started_at],
        timeout=RESOLVE_LIMIT_S,
        what=f"{ALERT} resolved at the webhook",
    )
    resolve_after = resolved[0]["at"] - started_at
    report(
        f"monitoring: replica stopped -> {ALERT} at the webhook in {alert_after:.0f} s "
        f"(limit {ALERT_LIMIT_S} s); started again -> resolved in {resolve_after:.0f} s"
    )
    assert alert_after < ALERT_LIMIT_S
