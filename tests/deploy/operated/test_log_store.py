"""The log store in the production stack, on a real Docker engine (docs/logs.md): a request
made through the edge with an X-Request-ID is found in the store by that id with the command
the runbook gives, within a bounded wait; and no line is lost or repeated when the store is
stopped while the app keeps logging, when an app replica restarts, and when the store
restarts.

One stack for the module (compose.prod.yml + compose.pebble.yml, as tests/deploy/test_stack.py
starts it); figures go to the session summary.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

from harness.docker import docker_cmd
from harness.stack import ProductionStack
from tests.deploy.containers import report

# The store reads a container's new lines within a second (inotify); 30 s is the bound the
# runbook can promise with margin on a busy machine.
FOUND_WITHIN_S = 30
BATCH = 40


def search(stack: ProductionStack, *args: str) -> tuple[int, list[dict[str, object]], str]:
    """`signupflow-logs search ARGS` in the logstore container: (exit code, lines, stderr).
    Through the engine's own CLI: Compose 2.40 against this engine (API 1.41) answers 0 for
    `exec` whatever the command's exit code (checked 2026-12-05); the runbook's
    `docker compose exec` form is run once, in the first test."""
    container = str(stack.containers("logstore")[0]["Id"])
    result = docker_cmd(
        "exec", container, "signupflow-logs", "search", *args, timeout=120, check=False
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.returncode, lines, result.stderr


def request(stack: ProductionStack, request_id: str) -> None:
    """An API request without a token: the app answers 401 and logs it at info level."""
    status, _ = stack.get("/api/v1/events", headers={"X-Request-ID": request_id})
    assert status == 401


def app_request_ids(stack: ProductionStack, since: str) -> list[str]:
    code, lines, stderr = search(stack, "--service", "app", "--since", since)
    assert code in (0, 1), stderr
    found = []
    for line in lines:
        fields = line.get("fields")
        if isinstance(fields, dict) and fields.get("route") == "/api/v1/events":
            found.append(str(fields.get("request_id")))
    return found


def wait_for_ids(stack: ProductionStack, since: str, wanted: set[str]) -> tuple[float, list[str]]:
    started = time.monotonic()
    found: list[str] = []
    while time.monotonic() - started < FOUND_WITHIN_S:
        found = app_request_ids(stack, since)
        if wanted <= set(found):
            return time.monotonic() - started, found
        time.sleep(1)
    missing = sorted(wanted - set(found))
    raise AssertionError(f"{len(missing)} of {len(wanted)} lines not in the store: {missing[:5]}")


def test_the_syslog_driver_would_not_start_a_container_while_its_store_is_down(
    base_images: dict[str, str],
) -> None:
    """Why the store follows the json-file logs (docs/logs.md): with Docker's syslog driver
    over TCP, a container does not even start while nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        result = docker_cmd(
            "run",
            "--rm",
            "--log-driver",
            "syslog",
            "--log-opt",
            f"syslog-address=tcp://127.0.0.1:{port}",
            base_images["python"],
            "true",
            check=False,
        )
    assert result.returncode == 125
    assert "failed to initialize logging driver" in result.stderr


def test_a_request_through_the_edge_is_found_by_its_request_id(stack: ProductionStack) -> None:
    request_id = f"logs-{uuid.uuid4().hex}"
    sent = time.time()
    request(stack, request_id)
    lines: list[dict[str, object]] = []
    while time.time() - sent < FOUND_WITHIN_S:
        code, lines, stderr = search(stack, "--request-id", request_id)
        assert code in (0, 1), stderr
        if {line["service"] for line in lines} >= {"app", "edge"}:
            break
        time.sleep(0.5)
    found_after = time.time() - sent
    found_lines = list(lines)
    services = {str(line["service"]) for line in lines}
    assert services >= {"app", "edge"}, f"found {lines} within {FOUND_WITHIN_S} s"
    # The command docs/logs.md gives, as an operator types it.
    documented = stack.stack.compose(
        "exec", "-T", "logstore", "signupflow-logs", "search", "--request-id", request_id
    )
    assert [json.loads(line) for line in documented.stdout.splitlines()] == lines
    app = next(line for line in lines if line["service"] == "app")
    fields = app["fields"]
    assert isinstance(fields, dict)
    assert fields["request_id"] == request_id
    assert fields["route"] == "/api/v1/events"
    assert fields["status"] == 401
    assert fields["level"] == "info"
    # The replica that answered: one of those running (deploys number new ones on).
    running = {
        replica["Config"]["Labels"]["com.docker.compose.container-number"]
        for replica in stack.running_replicas()
    }
    assert app["replica"] in running, (app, running)
    assert str(app["time"]).startswith(time.strftime("%Y-%m-%d", time.gmtime(sent)))

    # The same line by level and time (the runbook's other filters), and not outside them.
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sent - 2))
    code, lines, _ = search(stack, "--level", "info", "--since", since, "--service", "app")
    assert code == 0
    assert request_id in {str(line["fields"]["request_id"]) for line in lines}  # type: ignore[index]
    # The edge logs a 4xx answer at error level; the app at info.
    code, lines, _ = search(
        stack, "--request-id", request_id, "--level", "error", "--service", "app"
    )
    assert (code, lines) == (1, [])
    code, _, stderr = search(stack, "--request-id", request_id, "--since", "yesterday")
    assert code == 2
    assert "cannot read the time 'yesterday'" in stderr
    sizes = ", ".join(f"{line['service']} {len(json.dumps(line))} B" for line in found_lines)
    report(
        f"log store: a request's lines found by request id {found_after:.1f} s after it "
        f"(stored sizes: {sizes})"
    )


def test_no_line_is_lost_while_the_store_is_down_or_a_replica_restarts(
    stack: ProductionStack,
) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    before = {f"before-{uuid.uuid4().hex[:12]}" for _ in range(BATCH)}
    for request_id in sorted(before):
        request(stack, request_id)
    wait_for_ids(stack, since, before)

    # The store is stopped (SIGTERM: it records where it stopped reading); the app keeps
    # logging, one replica restarts meanwhile; then the store starts again.
    stack.stack.compose("stop", "logstore", timeout=120)
    while_down = {f"down-{uuid.uuid4().hex[:12]}" for _ in range(BATCH)}
    for index, request_id in enumerate(sorted(while_down)):
        request(stack, request_id)
        if index == BATCH // 2:
            replica = stack.running_replicas()[0]["Id"]
            docker_cmd("restart", "--time", "30", replica, timeout=120)
    stack.stack.compose("start", "logstore", timeout=120)
    caught_up, _ = wait_for_ids(stack, since, while_down)

    # A restart while lines keep coming: nothing lost, nothing read twice.
    during = {f"restart-{uuid.uuid4().hex[:12]}" for _ in range(BATCH)}
    for index, request_id in enumerate(sorted(during)):
        request(stack, request_id)
        if index == BATCH // 2:
            stack.stack.compose("restart", "logstore", timeout=120)
    _, found = wait_for_ids(stack, since, during)
    sent = before | while_down | during
    repeated = sorted({i for i in found if i in sent and found.count(i) > 1})
    assert not repeated, f"{len(repeated)} lines stored twice: {repeated[:5]}"
    report(
        f"log store: {len(sent)} lines across a store stop, a replica restart and a store "
        f"restart, none lost or repeated; caught up {caught_up:.1f} s after the store started"
    )
