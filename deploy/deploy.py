#!/usr/bin/env python3
"""Zero-downtime deploys of SignUpFlow's app replicas (Docker Compose, Caddy edge).

    python3 deploy/deploy.py deploy signupflow:1.4.0   # migrate, roll, verify; undo on failure
    python3 deploy/deploy.py rollback                  # back to the release before the current one
    python3 deploy/deploy.py history                   # what was deployed when, and how it went
    python3 deploy/deploy.py reload-edge               # point the edge at the ready replicas
    python3 deploy/deploy.py watch                     # restart containers stopped outside a deploy

Python 3.11+, standard library only, so a server needs nothing but Docker and python3. The
stack is compose.prod.yml + compose.caddy.yml (the defaults; -f to choose). Run from anywhere.

A deploy, step by step, and why in this order:
 1. lock      One deploy at a time per project: a lock file in the state directory names its
              holder and expires (--lock-ttl) unless the holder's heartbeat renews it, so a
              killed deploy blocks the next one for at most the TTL; the next one takes over,
              records the aborted one and cleans up what it left behind.
 2. migrate   `compose run --rm migrate` with the new image, while the old replicas serve.
              Migrations must therefore keep the old code working (expand, then contract in a
              later release); a rollback never migrates down.
 3. start     `compose up -d --no-deps --no-recreate --scale app=2N app` with the new image:
              N new replicas beside the N old ones, which compose leaves alone.
 4. ready     Each new replica must answer 200 on /health/ready twice in a row (database
              reachable, schema at the head) before it gets any traffic; a replica that exits,
              restarts or stays unready past --ready-timeout fails the deploy.
 5. switch    The edge's upstream list becomes the new replicas, applied with a graceful
              `caddy reload`: requests in flight on the old replicas finish through the old
              configuration, new requests go to the new ones. Until here the old replicas
              served everything; undoing any of this is just removing the new ones.
 6. verify    Through the edge itself (--verify-url): /health/live must name the new release
              on several consecutive requests. On failure the edge goes back to the old
              replicas, which are still running and ready, so a rollback takes seconds.
 7. retire    Only now `docker stop -t 30` the old replicas. They left the rotation in step 5,
              before SIGTERM, so none stops accepting connections while the edge still sends
              it traffic; the app still drains as if it did (503 on /health/ready, 5 s of
              service with `Connection: close`, then up to 20 s for requests in flight; 25 s <
              30 s, so SIGKILL never cuts it short).
 8. worker    With --worker-image, the worker is replaced last (compose up), once the schema and
              the app are in place. A failure here is reported, not undone: the app serves
              the new release, and the old worker still works with the expanded schema.
 9. record    The history file gets version, times, result and step durations; state.json
              the current and previous release (both images are also tagged
              <project>-app:current / :previous, so a rollback needs no build or pull).

Timing: the edge probes /health/ready every second, and a draining replica answers 503 at
once, so a replica that stops by other means (docker compose stop, a host shutdown) is out of
rotation within about 1 s, well inside its DRAIN_DELAY_S of 5 s; a crashed one refuses
connections, and the edge retries elsewhere (lb_try_duration 10 s) until its check drops it.

`watch` (run it as a service: deploy/systemd/signupflow-watch.service) closes a gap in Docker's
restart policies: a container stopped by `docker kill` or `docker stop` counts as deliberately
stopped, and the engine leaves it down. Every --interval seconds the watcher starts any
container of the project whose restart policy says it should run (always, unless-stopped) and
that is not running, except while a deploy holds the lock (a deploy stops containers on
purpose). A crashed replica is restarted by the engine itself; a killed one by the watcher,
within seconds. Stop the watcher before stopping services by hand for maintenance.

Any failure before step 7 is undone automatically: the new replicas are removed and, if the
edge had switched, it switches back first. Every command has a timeout, so the undo finishes
within ROLLBACK_BUDGET_S.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import getpass
import http.client
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_FILES = (HERE / "compose" / "compose.prod.yml", HERE / "compose" / "compose.caddy.yml")
# Written by deploy/edge/caddy/start.sh and imported by the Caddyfile's reverse_proxy block.
EDGE_UPSTREAMS_FILE = "/var/lib/signupflow-edge/upstreams.caddy"
EDGE_RELOAD = ("caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile")
APP_PORT = 8000
READY_STREAK = 2  # consecutive 200s from /health/ready before a replica gets traffic
VERIFY_STREAK = 6  # consecutive answers naming the new release through the edge
STOP_TIMEOUT_S = 30  # the app drains in DRAIN_DELAY_S + SHUTDOWN_TIMEOUT_S = 25 s
ROLLBACK_BUDGET_S = 300  # the bound: back on the previous release within 5 minutes
POLL_S = 0.5

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3

# Run inside an app container: the image has Python, and probe paths skip the host check.
READY_PROBE = (
    "import urllib.request as u\n"
    "o = u.build_opener(u.ProxyHandler({}))\n"
    "try:\n"
    "    print(o.open('http://127.0.0.1:%d/health/ready', timeout=2).status)\n"
    "except u.HTTPError as e:\n"
    "    print(e.code)\n"
    "except Exception as e:\n"
    "    print(type(e).__name__)\n"
)


class DeployError(Exception):
    """A step failed; the message says which and why."""


class LockHeld(Exception):
    pass


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def say(message: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {message}", flush=True)


# --- running commands ---------------------------------------------------------------------------


@dataclass
class Runner:
    docker: list[str]
    compose: list[str]  # the compose command with -p and -f already in it
    env: dict[str, str]

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                list(args),
                input=input_text,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**self.env, **(env or {})},
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeployError(f"timed out after {timeout:.0f} s: {shlex.join(args)}") from exc
        except OSError as exc:
            raise DeployError(f"cannot run {args[0]}: {exc}") from exc
        if check and result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-2000:]
            raise DeployError(f"`{shlex.join(args)}` exited {result.returncode}:\n{output}")
        return result

    def docker_run(self, *args: str, timeout: float = 60, **kwargs: Any) -> str:
        return self.run([*self.docker, *args], timeout=timeout, **kwargs).stdout

    def compose_run(self, *args: str, timeout: float, env: dict[str, str]) -> str:
        return self.run([*self.compose, *args], timeout=timeout, env=env).stdout


# --- containers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    image: str  # as configured (the reference)
    image_id: str
    release: str
    running: bool
    restarting: bool
    restart_count: int
    health: str  # "", "starting", "healthy", "unhealthy"
    exit_code: int
    created: str

    @classmethod
    def from_inspect(cls, data: dict[str, Any]) -> Container:
        state = data["State"]
        env = dict(item.split("=", 1) for item in data["Config"].get("Env") or [] if "=" in item)
        return cls(
            id=data["Id"],
            name=data["Name"].lstrip("/"),
            image=data["Config"]["Image"],
            image_id=data["Image"],
            release=env.get("RELEASE", ""),
            running=bool(state.get("Running")),
            restarting=bool(state.get("Restarting")),
            restart_count=int(data.get("RestartCount", 0)),
            health=(state.get("Health") or {}).get("Status", ""),
            exit_code=int(state.get("ExitCode", 0)),
            created=data["Created"],
        )


@dataclass(frozen=True)
class Release:
    image: str
    image_id: str
    release: str

    def describe(self) -> str:
        return f"{self.release or '?'} ({self.image}, {self.image_id[7:19]})"


@dataclass
class Settings:
    project: str
    files: list[Path]
    env_file: Path | None
    state_dir: Path
    service: str
    edge_service: str
    migrate_service: str
    lock_ttl: float
    lock_wait: float
    ready_timeout: float
    verify_url: str | None
    verify_connect: str | None
    verify_cacert: Path | None
    verify_timeout: float


class Stack:
    """The Compose project's containers, and the edge's view of them."""

    def __init__(self, runner: Runner, settings: Settings) -> None:
        self.runner = runner
        self.settings = settings

    def containers(self, service: str) -> list[Container]:
        ids = self.runner.docker_run(
            "ps",
            "--all",
            "--quiet",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={self.settings.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ).split()
        if not ids:
            return []
        found = json.loads(self.runner.docker_run("inspect", *ids))
        return sorted((Container.from_inspect(item) for item in found), key=lambda c: c.created)

    def inspect(self, container: Container) -> Container:
        data = json.loads(self.runner.docker_run("inspect", container.id))
        return Container.from_inspect(data[0])

    def edge(self) -> Container:
        running = [c for c in self.containers(self.settings.edge_service) if c.running]
        if not running:
            raise DeployError(
                f"no running `{self.settings.edge_service}` container in project "
                f"{self.settings.project} (is the stack up, with compose.caddy.yml?)"
            )
        return running[0]

    def rotation(self) -> list[str]:
        """The upstream host names the edge proxies to (`to a:8000 b:8000`)."""
        text = self.runner.docker_run("exec", self.edge().id, "cat", EDGE_UPSTREAMS_FILE)
        words = text.split()
        if not words or words[0] != "to":
            raise DeployError(f"unexpected edge upstream file: {text.strip()!r}")
        return [word.rsplit(":", 1)[0] for word in words[1:]]

    def set_rotation(self, replicas: Sequence[Container]) -> None:
        """Point the edge at these replicas: rewrite its upstream list, then a graceful reload
        (requests in flight finish on the old configuration). A reload that fails restores the
        previous list, so the edge never keeps a file it did not accept."""
        if not replicas:
            raise DeployError("refusing to leave the edge without upstreams")
        edge = self.edge()
        previous = self.runner.docker_run("exec", edge.id, "cat", EDGE_UPSTREAMS_FILE)
        content = "to " + " ".join(f"{c.name}:{APP_PORT}" for c in replicas) + "\n"
        self._write_upstreams(edge, content)
        result = self.runner.run(
            [*self.runner.docker, "exec", edge.id, *EDGE_RELOAD], timeout=60, check=False
        )
        if result.returncode != 0:
            self._write_upstreams(edge, previous)
            raise DeployError(f"edge reload failed: {(result.stdout + result.stderr)[-1500:]}")

    def _write_upstreams(self, edge: Container, content: str) -> None:
        # Written aside and renamed: Caddy (or a concurrent reload) never reads half a file.
        script = f'cat > "{EDGE_UPSTREAMS_FILE}.new" && mv -f "{EDGE_UPSTREAMS_FILE}.new" "$1"'
        self.runner.docker_run(
            "exec",
            "-i",
            edge.id,
            "sh",
            "-c",
            script,
            "sh",
            EDGE_UPSTREAMS_FILE,
            input_text=content,
        )

    def probe_ready(self, container: Container) -> str:
        """/health/ready as seen inside the replica: "200", "503", or an error name."""
        result = self.runner.run(
            [
                *self.runner.docker,
                "exec",
                container.id,
                "python",
                "-c",
                READY_PROBE % APP_PORT,
            ],
            timeout=15,
            check=False,
        )
        return result.stdout.strip() or f"exec exited {result.returncode}"

    def stop(self, containers: Sequence[Container]) -> None:
        if not containers:
            return
        ids = [c.id for c in containers]
        # `docker stop` stops them in parallel: SIGTERM, then SIGKILL after STOP_TIMEOUT_S.
        self.runner.docker_run("stop", "-t", str(STOP_TIMEOUT_S), *ids, timeout=STOP_TIMEOUT_S + 30)
        self.runner.docker_run("rm", "--volumes", *ids)

    def remove_now(self, containers: Sequence[Container]) -> None:
        """For replicas that never had traffic: no drain to wait for."""
        if containers:
            self.runner.docker_run("rm", "--force", "--volumes", *[c.id for c in containers])


# --- the lock -----------------------------------------------------------------------------------


@dataclass
class LockRecord:
    holder: str
    command: str
    token: str
    acquired_at: str
    expires_at: float  # Unix time

    def describe(self) -> str:
        left = self.expires_at - time.time()
        state = f"expires in {left:.0f} s" if left > 0 else f"expired {-left:.0f} s ago"
        return f"{self.holder}, `{self.command}`, since {self.acquired_at} ({state})"


class DeployLock:
    """A lock file naming its holder, with an expiry the holder keeps pushing forward from a
    heartbeat thread. If the holder dies (even by SIGKILL) the heartbeat stops and the lock
    expires after `ttl` seconds; the next deploy then takes it over. Reading and replacing the
    file happens under flock on a guard file, so two takers never both win."""

    def __init__(self, path: Path, *, ttl: float, command: str) -> None:
        self.path = path
        self.guard = path.with_name(path.name + ".guard")
        self.ttl = ttl
        user = getpass.getuser()
        holder = f"{user}@{socket.gethostname()} pid {os.getpid()}"
        self.mine = LockRecord(holder, command, uuid.uuid4().hex, now_iso(), 0.0)
        self.taken_over: LockRecord | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.guard.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> LockRecord | None:
        try:
            return LockRecord(**json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return LockRecord("unknown (unreadable lock file)", "?", "?", "?", 0.0)

    def _write(self) -> None:
        self.mine.expires_at = time.time() + self.ttl
        partial = self.path.with_name(self.path.name + f".{os.getpid()}")
        partial.write_text(json.dumps(asdict(self.mine)) + "\n")
        partial.replace(self.path)

    def current_holder(self) -> LockRecord | None:
        """The live holder, if any (an expired lock holds nothing)."""
        with self._guarded():
            current = self._read()
        return current if current is not None and current.expires_at > time.time() else None

    def try_acquire(self) -> LockRecord | None:
        """None when acquired; otherwise the record of the live holder."""
        with self._guarded():
            current = self._read()
            if current is not None and current.expires_at > time.time():
                return current
            if current is not None:
                self.taken_over = current
            self._write()
        return None

    def acquire(self, *, wait: float) -> None:
        deadline = time.monotonic() + wait
        announced = False
        while True:
            holder = self.try_acquire()
            if holder is None:
                break
            if time.monotonic() >= deadline:
                raise LockHeld(f"another deploy holds the lock: {holder.describe()}")
            if not announced:
                say(f"waiting up to {wait:.0f} s for the lock: {holder.describe()}")
                announced = True
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        if self.taken_over is not None:
            say(f"took over an expired lock: {self.taken_over.describe()}")
        self._thread = threading.Thread(target=self._heartbeat, name="lock-heartbeat", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        interval = max(0.5, self.ttl / 3)
        while not self._stop.wait(interval):
            with self._guarded():
                current = self._read()
                if current is None or current.token != self.mine.token:
                    self.lost = True
                    return
                self._write()

    def check(self) -> None:
        if self.lost:
            raise DeployError("lost the deploy lock (it expired and another deploy took it)")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._guarded():
            current = self._read()
            if current is not None and current.token == self.mine.token:
                self.path.unlink()


# --- history and state --------------------------------------------------------------------------


@dataclass
class Deployment:
    id: str
    kind: str  # deploy | rollback
    image: str
    release: str = ""
    image_id: str = ""
    previous: dict[str, str] | None = None
    started_at: str = field(default_factory=now_iso)
    finished_at: str = ""
    result: str = "running"  # succeeded | rolled_back | failed | aborted
    error: str = ""
    holder: str = ""
    durations: dict[str, float] = field(default_factory=dict)


class Records:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.history = state_dir / "history.jsonl"
        self.state = state_dir / "state.json"

    def append(self, deployment: Deployment) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with self.history.open("a") as handle:
            handle.write(json.dumps(asdict(deployment), sort_keys=True) + "\n")

    def entries(self) -> list[dict[str, Any]]:
        if not self.history.exists():
            return []
        found = []
        for line in self.history.read_text().splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
        return found

    def load_state(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.state.read_text())
            return loaded if isinstance(loaded, dict) else {}
        except (FileNotFoundError, ValueError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        partial = self.state.with_name("state.json.new")
        partial.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        partial.replace(self.state)


# --- verification through the edge --------------------------------------------------------------


def fetch_release(url: str, *, connect: str | None, cafile: Path | None, timeout: float) -> str:
    """GET url on a fresh connection (to `connect` host:port if given, with the URL's host as
    SNI and Host) and return the `release` of its JSON body."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = (host, port)
    if connect:
        connect_host, _, connect_port = connect.rpartition(":")
        address = (connect_host.strip("[]"), int(connect_port))
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stall
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
            sock = context.wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.sock = sock
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise DeployError(f"{url} answered {response.status}")
        release = json.loads(body).get("release", "")
        return str(release)
    finally:
        sock.close()


def verify_through_edge(settings: Settings, expected: str) -> None:
    if settings.verify_url is None:
        say("verify: skipped (--no-verify)")
        return
    deadline = time.monotonic() + settings.verify_timeout
    streak, last = 0, ""
    while streak < VERIFY_STREAK:
        try:
            release = fetch_release(
                settings.verify_url,
                connect=settings.verify_connect,
                cafile=settings.verify_cacert,
                timeout=5,
            )
            last = f"release {release!r}"
            streak = streak + 1 if release == expected else 0
        except (OSError, ValueError, DeployError, http.client.HTTPException) as exc:
            last, streak = f"{type(exc).__name__}: {exc}", 0
        if streak >= VERIFY_STREAK:
            break
        if time.monotonic() > deadline:
            raise DeployError(
                f"{settings.verify_url} did not answer release {expected!r} "
                f"{VERIFY_STREAK} times in a row within {settings.verify_timeout:.0f} s "
                f"(last: {last})"
            )
        time.sleep(0.2 if streak else POLL_S)


# --- the deploy ---------------------------------------------------------------------------------


class Deployer:
    def __init__(self, runner: Runner, settings: Settings) -> None:
        self.runner = runner
        self.settings = settings
        self.stack = Stack(runner, settings)
        self.records = Records(settings.state_dir)

    # Steps record how long they took; the history keeps the figures.
    @contextlib.contextmanager
    def step(self, deployment: Deployment, name: str, lock: DeployLock | None) -> Iterator[None]:
        if lock is not None:
            lock.check()
        say(f"{name}: ...")
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = round(time.monotonic() - started, 2)
            deployment.durations[name] = elapsed
        say(f"{name}: done ({elapsed:.1f} s)")

    def image(self, reference: str) -> tuple[str, dict[str, str], dict[str, str]]:
        """(id, env, labels) of a local image; never pulls."""
        result = self.runner.run(
            [*self.runner.docker, "image", "inspect", reference], timeout=60, check=False
        )
        if result.returncode != 0:
            raise DeployError(
                f"image {reference} is not on this host (docker pull or docker load it first)"
            )
        data = json.loads(result.stdout)[0]
        config = data.get("Config") or {}
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        return data["Id"], env, config.get("Labels") or {}

    def survey(self) -> tuple[list[Container], list[Container]]:
        """(serving, leftovers): replicas in the edge's rotation and running, and every other
        app container (from an aborted deploy, a crash, or a manual `docker kill`)."""
        containers = self.stack.containers(self.settings.service)
        rotation = set(self.stack.rotation())
        everything = self.settings.service in rotation  # start.sh's `to app:8000`
        serving = [c for c in containers if c.running and (everything or c.name in rotation)]
        if not serving:
            # The edge names nobody who runs (the replicas were re-created by hand): whatever
            # runs is all there is to keep, not leftovers to remove.
            serving = [c for c in containers if c.running]
        leftovers = [c for c in containers if c not in serving]
        return serving, leftovers

    def run_deploy(
        self,
        reference: str,
        *,
        release: str | None,
        replicas: int | None,
        migrate: bool,
        kind: str,
        lock: DeployLock,
        worker_image: str | None = None,
    ) -> Deployment:
        deployment = Deployment(
            id=datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6],
            kind=kind,
            image=reference,
            holder=lock.mine.holder,
        )
        started = time.monotonic()
        if lock.taken_over is not None:
            self.record_aborted(lock.taken_over)
        old: list[Container] = []
        new: list[Container] = []
        switched = False
        try:
            image_id, image_env, labels = self.image(reference)
            deployment.image_id = image_id
            deployment.release = release or (
                image_env.get("RELEASE")
                or labels.get("org.opencontainers.image.version")
                or reference
            )
            with self.step(deployment, "survey", lock):
                old, leftovers = self.survey()
                if leftovers:
                    say("removing leftovers: " + ", ".join(c.name for c in leftovers))
                    self.stack.stop(leftovers)
            if old:
                deployment.previous = asdict(self.release_of(old[0]))
            count = replicas or len(old) or 2
            say(
                f"{kind} {deployment.release} ({reference}): {count} new replica(s) beside "
                f"{', '.join(c.name for c in old) or 'none'}"
            )
            app_env = {"APP_IMAGE": reference, "APP_RELEASE": deployment.release}
            if migrate:
                with self.step(deployment, "migrate", lock):
                    self.runner.compose_run(
                        "run", "--rm", "--pull", "never", self.settings.migrate_service,
                        timeout=900, env=app_env,
                    )  # fmt: skip
            with self.step(deployment, "start", lock):
                before = {c.id for c in old}
                try:
                    self.runner.compose_run(
                        "up", "--detach", "--no-deps", "--no-recreate", "--pull", "never",
                        "--scale", f"{self.settings.service}={len(old) + count}",
                        self.settings.service,
                        timeout=300, env=app_env,
                    )  # fmt: skip
                finally:
                    current = self.stack.containers(self.settings.service)
                    new = [c for c in current if c.id not in before]
            with self.step(deployment, "ready", lock):
                self.wait_ready(new)
            with self.step(deployment, "switch", lock):
                switched = True
                self.stack.set_rotation(new)
            with self.step(deployment, "verify", lock):
                verify_through_edge(self.settings, deployment.release)
            with self.step(deployment, "retire", lock):
                try:
                    self.stack.stop(old)
                except DeployError as exc:
                    # The new release serves and is verified: not a reason to undo it.
                    say(f"warning: could not retire the old replicas: {exc}")
            if worker_image:
                # After the app: the new worker may need the new schema, which is in place.
                # Compose replaces it (SIGTERM; the job in hand finishes, leases cover the rest).
                with self.step(deployment, "worker", lock):
                    try:
                        self.runner.compose_run(
                            "up", "--detach", "--no-deps", "--pull", "never", "worker",
                            timeout=300, env={**app_env, "WORKER_IMAGE": worker_image},
                        )  # fmt: skip
                    except DeployError as exc:
                        # The app serves the new release already; the old worker keeps
                        # working (expand, then contract), so say so rather than undo.
                        deployment.error = f"worker not replaced: {exc}"
                        say(f"warning: {deployment.error}")
            deployment.result = "succeeded"
            self.remember(deployment, old)
        except (DeployError, KeyboardInterrupt) as exc:
            deployment.error = str(exc) or type(exc).__name__
            say(f"FAILED: {deployment.error}")
            if new:
                with self.step(deployment, "rollback", None):
                    self.undo(old, new, switched=switched)
                deployment.result = "rolled_back"
            else:
                deployment.result = "failed"
        finally:
            deployment.durations["total"] = round(time.monotonic() - started, 2)
            deployment.finished_at = now_iso()
            self.records.append(deployment)
        return deployment

    def wait_ready(self, replicas: Sequence[Container]) -> None:
        if not replicas:
            raise DeployError("compose started no new replica")
        deadline = time.monotonic() + self.settings.ready_timeout
        streaks = {c.id: 0 for c in replicas}
        answers: dict[str, str] = {}
        while True:
            for container in replicas:
                if streaks[container.id] >= READY_STREAK:
                    continue
                state = self.stack.inspect(container)
                if not state.running or state.restarting or state.restart_count:
                    raise DeployError(
                        f"{state.name} is not running steadily (exit code {state.exit_code}, "
                        f"{state.restart_count} restart(s)): see `docker logs {state.name}`"
                    )
                if state.health == "unhealthy":
                    raise DeployError(f"{state.name} is unhealthy (its Docker health check)")
                answers[state.name] = self.stack.probe_ready(container)
                ready = answers[state.name] == "200"
                streaks[container.id] = streaks[container.id] + 1 if ready else 0
            if all(streak >= READY_STREAK for streak in streaks.values()):
                return
            if time.monotonic() > deadline:
                raise DeployError(
                    f"not ready within {self.settings.ready_timeout:.0f} s "
                    f"(/health/ready: {answers})"
                )
            time.sleep(POLL_S)

    def undo(self, old: Sequence[Container], new: Sequence[Container], *, switched: bool) -> None:
        """Back to the old replicas, which were never stopped."""
        deadline = time.monotonic() + ROLLBACK_BUDGET_S
        serving_old = [c for c in old if self.stack.inspect(c).running]
        if switched:
            if not serving_old:
                raise DeployError("the old replicas are gone; run `deploy.py rollback`")
            self.stack.set_rotation(serving_old)
            # The new replicas had traffic: let them drain like any other.
            self.stack.stop(new)
        else:
            self.stack.remove_now(new)
        say(f"rolled back to {', '.join(c.name for c in serving_old) or 'nothing'}")
        if time.monotonic() > deadline:
            say(f"warning: the rollback took longer than {ROLLBACK_BUDGET_S} s")

    def release_of(self, container: Container) -> Release:
        return Release(container.image, container.image_id, container.release)

    def remember(self, deployment: Deployment, old: Sequence[Container]) -> None:
        state = self.records.load_state()
        current = Release(deployment.image, deployment.image_id, deployment.release)
        previous = self.release_of(old[0]) if old else None
        if previous is not None and previous.image_id == current.image_id:
            previous = Release(**state["previous"]) if state.get("previous") else None
        state["current"] = asdict(current)
        state["previous"] = asdict(previous) if previous else None
        state["updated_at"] = now_iso()
        self.records.save_state(state)
        # Tags keep both images on the host (a rollback needs no build or pull) even if their
        # original tags move or are removed.
        for name, release in (("current", current), ("previous", previous)):
            if release is not None:
                self.runner.docker_run("tag", release.image_id, self.pin(name), check=False)

    def pin(self, name: str) -> str:
        return f"{self.settings.project}-app:{name}"

    def record_aborted(self, record: LockRecord) -> None:
        kind, _, image = record.command.partition(" ")
        deployment = Deployment(
            id=f"aborted-{record.token[:6]}",
            kind=kind,
            image=image,
            started_at=record.acquired_at,
            finished_at=now_iso(),
            result="aborted",
            error="the deploy stopped without releasing its lock (killed?); taken over",
            holder=record.holder,
        )
        self.records.append(deployment)

    def rollback_target(self) -> Release:
        previous = self.records.load_state().get("previous")
        if not previous:
            raise DeployError("no previous release recorded in " + str(self.records.state))
        target = Release(**previous)
        # Prefer the original reference while it still names the same image.
        for reference in (target.image, self.pin("previous")):
            result = self.runner.run(
                [*self.runner.docker, "image", "inspect", "--format", "{{.Id}}", reference],
                timeout=60,
                check=False,
            )
            if result.returncode == 0 and result.stdout.strip() == target.image_id:
                return Release(reference, target.image_id, target.release)
        return target

    def reload_edge(self, lock: DeployLock) -> list[str]:
        """Point the edge at every running replica that is ready (after `compose up`, or to
        re-read an edited Caddyfile)."""
        lock.check()
        replicas = [c for c in self.stack.containers(self.settings.service) if c.running]
        deadline = time.monotonic() + self.settings.ready_timeout
        while True:
            answers = {c.name: self.stack.probe_ready(c) for c in replicas}
            ready = [c for c in replicas if answers[c.name] == "200"]
            # Every running replica, or as many as answer by the deadline (at least one).
            if len(ready) == len(replicas) or (ready and time.monotonic() > deadline):
                break
            if time.monotonic() > deadline:
                raise DeployError(f"no ready replica to point the edge at: {answers}")
            time.sleep(POLL_S)
        self.stack.set_rotation(ready)
        return [c.name for c in ready]


# --- command line -------------------------------------------------------------------------------


# --- the watcher ------------------------------------------------------------------------------

RESTART_POLICIES = frozenset({"always", "unless-stopped"})


def log_event(event: str, **fields: Any) -> None:
    print(json.dumps({"time": now_iso(), "event": event, **fields}), flush=True)


def stopped_but_meant_to_run(runner: Runner, project: str) -> list[dict[str, Any]]:
    ids = runner.docker_run(
        "ps",
        "--all",
        "--quiet",
        "--no-trunc",
        "--filter",
        f"label=com.docker.compose.project={project}",
    ).split()
    if not ids:
        return []
    return [
        item
        for item in json.loads(runner.docker_run("inspect", *ids))
        if item["HostConfig"]["RestartPolicy"]["Name"] in RESTART_POLICIES
        and not item["State"]["Running"]
        and not item["State"]["Restarting"]
        and not item["State"].get("Dead")
    ]


def watch_once(runner: Runner, settings: Settings) -> list[str]:
    """Start what should run and does not; the names started. Nothing while a deploy runs."""
    lock = DeployLock(settings.state_dir / "deploy.lock", ttl=settings.lock_ttl, command="watch")
    holder = lock.current_holder()
    if holder is not None:
        return []
    started = []
    for item in stopped_but_meant_to_run(runner, settings.project):
        name = item["Name"].lstrip("/")
        result = runner.run([*runner.docker, "start", item["Id"]], timeout=60, check=False)
        ok = result.returncode == 0
        log_event(
            "started" if ok else "start failed",
            container=name,
            exit_code=item["State"].get("ExitCode"),
            finished_at=item["State"].get("FinishedAt"),
            error=None if ok else (result.stderr.strip()[-500:] or None),
        )
        if ok:
            started.append(name)
    return started


def watch(runner: Runner, settings: Settings, *, interval: float) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log_event("watching", project=settings.project, interval_s=interval)
    while not stop.is_set():
        try:
            watch_once(runner, settings)
        except DeployError as exc:  # docker briefly unavailable: say so, try again
            log_event("error", error=str(exc)[-500:])
        stop.wait(interval)
    log_event("stopped")
    return 0


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as Compose reads them (comments, blank lines, optional quotes)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def default_state_dir() -> Path:
    if os.environ.get("DEPLOY_STATE_DIR"):
        return Path(os.environ["DEPLOY_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/signupflow-deploy")
    return Path.home() / ".local" / "state" / "signupflow-deploy"


def default_compose(docker: list[str]) -> list[str]:
    try:
        plugin = subprocess.run(
            [*docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if plugin.returncode == 0:
            return [*docker, "compose"]
    except (OSError, subprocess.TimeoutExpired):
        pass
    return ["docker-compose"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description="Zero-downtime deploys of SignUpFlow's app replicas behind the Caddy edge.",
    )
    parser.add_argument(
        "-f",
        "--file",
        dest="files",
        action="append",
        type=Path,
        help="compose file (repeat; default compose.prod.yml + compose.caddy.yml)",
    )
    parser.add_argument(
        "-p",
        "--project",
        default=os.environ.get("COMPOSE_PROJECT_NAME"),
        help="Compose project (default: COMPOSE_PROJECT_NAME, else signupflow)",
    )
    parser.add_argument("--env-file", type=Path, help="passed to compose (default: its .env)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="lock, history and state (default: DEPLOY_STATE_DIR, else "
        "/var/lib/signupflow-deploy as root, else ~/.local/state/signupflow-deploy)",
    )
    parser.add_argument("--docker", default=os.environ.get("DOCKER", "docker"))
    parser.add_argument(
        "--compose", help="compose command (default: `docker compose`, else docker-compose)"
    )
    parser.add_argument("--service", default="app")
    parser.add_argument("--edge-service", default="edge")
    parser.add_argument("--migrate-service", default="migrate")
    parser.add_argument(
        "--lock-ttl",
        type=float,
        default=120,
        help="seconds a lock outlives its holder's last heartbeat (default 120)",
    )
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=0,
        help="seconds to wait for another deploy's lock (default 0: refuse at once)",
    )
    parser.add_argument("--ready-timeout", type=float, default=120)
    parser.add_argument(
        "--verify-url",
        default=os.environ.get("DEPLOY_VERIFY_URL"),
        help="checked through the edge after the switch (default: "
        "https://<first of DOMAINS>/health/live)",
    )
    parser.add_argument(
        "--verify-connect",
        help="HOST:PORT to connect to instead of resolving the URL's host (default: "
        "EDGE_BIND:HTTPS_PORT when the URL is derived from DOMAINS)",
    )
    parser.add_argument("--verify-cacert", type=Path, help="CA bundle for --verify-url")
    parser.add_argument("--verify-timeout", type=float, default=30)
    parser.add_argument("--no-verify", action="store_true", help="skip the check through the edge")
    commands = parser.add_subparsers(dest="command", required=True)
    deploy = commands.add_parser("deploy", help="deploy an image (already on this host)")
    deploy.add_argument("image")
    deploy.add_argument(
        "--release",
        help="release name for /health and error reports (default: the image's RELEASE, "
        "else its OCI version label, else the image reference)",
    )
    deploy.add_argument("--replicas", type=int, help="default: as many as now serve, else 2")
    deploy.add_argument("--skip-migrations", action="store_true")
    deploy.add_argument(
        "--worker-image",
        help="also replace the worker with this image (the solver build), after the app",
    )
    commands.add_parser("rollback", help="deploy the previous release again (no migrations)")
    history = commands.add_parser("history", help="list deployments")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    commands.add_parser("reload-edge", help="point the edge at every ready replica, then reload")
    watcher = commands.add_parser(
        "watch", help="start containers that should run but were stopped outside a deploy"
    )
    watcher.add_argument("--interval", type=float, default=2.0)
    return parser.parse_args(argv)


def build_settings(args: argparse.Namespace) -> tuple[Settings, Runner]:
    files = [path.resolve() for path in (args.files or DEFAULT_FILES)]
    env_file = args.env_file.resolve() if args.env_file else None
    compose_env = {**read_env_file(env_file or files[0].parent / ".env"), **os.environ}
    project = (args.project or compose_env.get("COMPOSE_PROJECT_NAME") or "signupflow").lower()
    state_dir = (args.state_dir or default_state_dir()) / project
    verify_url, verify_connect = args.verify_url, args.verify_connect
    if args.no_verify or args.command not in ("deploy", "rollback"):
        verify_url = None
    elif not verify_url:
        domains = [d.strip() for d in compose_env.get("DOMAINS", "").split(",") if d.strip()]
        if not domains:
            raise DeployError("give --verify-url (or DOMAINS in the environment), or --no-verify")
        verify_url = f"https://{domains[0]}/health/live"
        if not verify_connect:
            bind = compose_env.get("EDGE_BIND") or "127.0.0.1"
            bind = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind  # noqa: S104
            verify_connect = f"{bind}:{compose_env.get('HTTPS_PORT') or 443}"
    docker = shlex.split(args.docker)
    compose = shlex.split(args.compose) if args.compose else default_compose(docker)
    compose += ["--ansi", "never", "--progress", "plain", "--project-name", project]
    for path in files:
        compose += ["--file", str(path)]
    if env_file:
        compose += ["--env-file", str(env_file)]
    settings = Settings(
        project=project,
        files=files,
        env_file=env_file,
        state_dir=state_dir,
        service=args.service,
        edge_service=args.edge_service,
        migrate_service=args.migrate_service,
        lock_ttl=args.lock_ttl,
        lock_wait=args.lock_wait,
        ready_timeout=args.ready_timeout,
        verify_url=verify_url,
        verify_connect=verify_connect,
        verify_cacert=args.verify_cacert,
        verify_timeout=args.verify_timeout,
    )
    return settings, Runner(docker=docker, compose=compose, env=dict(os.environ))


def print_history(records: Records, *, limit: int, as_json: bool) -> None:
    entries = records.entries()[-limit:]
    if as_json:
        for entry in entries:
            print(json.dumps(entry, sort_keys=True))
        return
    if not entries:
        print("no deployments recorded in", records.history)
        return
    print(f"{'started (UTC)':25} {'kind':8} {'release':14} {'result':11} {'total':>7} {'undo':>6}")
    for entry in entries:
        durations = entry.get("durations") or {}
        total = durations.get("total")
        undo = durations.get("rollback")
        print(
            f"{entry.get('started_at', '?'):25} {entry.get('kind', '?'):8} "
            f"{(entry.get('release') or entry.get('image', '?'))[:14]:14} "
            f"{entry.get('result', '?'):11} "
            f"{f'{total:.1f}s' if total is not None else '-':>7} "
            f"{f'{undo:.1f}s' if undo is not None else '-':>6}"
        )
        if entry.get("error"):
            print(f"{'':25} {entry['error'].splitlines()[0][:100]}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings, runner = build_settings(args)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    deployer = Deployer(runner, settings)
    if args.command == "history":
        print_history(deployer.records, limit=args.limit, as_json=args.json)
        return 0
    if args.command == "watch":
        return watch(runner, settings, interval=args.interval)

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"received signal {signum}")

    # SIGTERM (a closed session, a CI timeout) undoes the deploy like any other failure.
    signal.signal(signal.SIGTERM, interrupted)
    command = " ".join([args.command, getattr(args, "image", "")]).strip()
    lock = DeployLock(settings.state_dir / "deploy.lock", ttl=settings.lock_ttl, command=command)
    try:
        lock.acquire(wait=settings.lock_wait)
    except LockHeld as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    try:
        if args.command == "reload-edge":
            try:
                names = deployer.reload_edge(lock)
            except DeployError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_FAILED
            say("edge now proxies to " + ", ".join(names))
            return 0
        if args.command == "rollback":
            try:
                target = deployer.rollback_target()
            except DeployError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_FAILED
            say(f"rolling back to {target.describe()}")
            deployment = deployer.run_deploy(
                target.image,
                release=target.release,
                replicas=None,
                migrate=False,
                kind="rollback",
                lock=lock,
            )
        else:
            deployment = deployer.run_deploy(
                args.image,
                release=args.release,
                replicas=args.replicas,
                migrate=not args.skip_migrations,
                kind="deploy",
                lock=lock,
                worker_image=args.worker_image,
            )
    finally:
        lock.release()
    say(f"{deployment.kind} {deployment.release}: {deployment.result} in "
        f"{deployment.durations.get('total', 0):.1f} s")  # fmt: skip
    return 0 if deployment.result == "succeeded" else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
