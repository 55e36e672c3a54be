"""The production stack with the Caddy edge and Pebble, for the deploy tests and bench-deploy:
test images of the app (releases v1, v2 and a broken v3), the stack itself, the deploy tool,
and a load generator that talks HTTPS to the edge the way a browser would (SNI, a verified
chain) and records every request.

Everything is bounded: commands have timeouts, waits have deadlines, load stops after a
maximum duration. Traffic goes to 127.0.0.1 (the edge's published ports) only.
"""

from __future__ import annotations

import calendar
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from harness.compose import (
    PEBBLE,
    PROD,
    Stack,
    compose_binary,
    compose_stack,
    create_secrets,
    free_edge_subnet,
)
from harness.docker import DOCKER, docker_cmd
from harness.ports import free_port
from harness.repository import REPO

DEPLOY_TOOL = REPO / "deploy" / "deploy.py"
SLOW_APP = REPO / "harness" / "slow_app.py"
LATE_FAILING_APP = REPO / "harness" / "late_failing_app.py"
FILES = (PROD, PEBBLE)
DOMAINS = ("signup.example.test", "volunteer.example.test")
STACK_UP_TIMEOUT_S = 300
CERT_TIMEOUT_S = 60
BUILD_TIMEOUT_S = 300
# A broken release must be detected without waiting two minutes; a healthy one is ready in
# about 5 s here.
READY_TIMEOUT_S = 20
DEPLOY_TIMEOUT_S = 240
# The watch after the cut-over (deploy/deploytool/observe.py): short here, 60 s by default.
WATCH_WINDOW_S = 5
REQUEST_TIMEOUT_S = 30
LOAD_MAX_S = 300

# v3 answers 503 on every health endpoint (so its Docker health check and /health/ready fail)
# and 500 everywhere else: if the edge ever sent it a request, the load would see it fail.
BROKEN_APP = '''\
"""A release that starts, listens, and is broken: for the deploy tests only."""

import json

from slow_app import create as create_slow


class Broken:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan: start up like the real app
            return
        status = 503 if scope["path"].startswith("/health") else 500
        body = json.dumps({"status": "broken", "release": "v3"}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create():
    return Broken(create_slow())
'''

TEST_DOCKERFILE = """\
ARG APP_IMAGE
FROM ${{APP_IMAGE}}
COPY slow_app.py broken_app.py late_failing_app.py /opt/signupflow-test/
ARG RELEASE
ENV PYTHONPATH=/opt/signupflow-test \\
    RELEASE=${{RELEASE}}
LABEL org.signupflow.test=stack
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--app", "{factory}"]
"""


@dataclass(frozen=True)
class ReleaseImages:
    v1: str
    v2: str
    v3: str  # broken
    v4: str  # passes every check, then answers 500 from 20 s after it started (the watch)


def build_test_images(app_image: str) -> ReleaseImages:
    """v1 and v2 serve harness/slow_app.py (the real app plus GET /test/slow); v3 is
    broken; v4 (harness/late_failing_app.py) starts failing 20 s after it started. Each
    carries its release in RELEASE. Tagged after the app image, so a second run on the same
    app image only hits the build cache."""
    suffix = app_image.rsplit(":", 1)[-1]
    tags = {}
    with tempfile.TemporaryDirectory(prefix="stack-images-") as context:
        directory = Path(context)
        shutil.copy(SLOW_APP, directory / "slow_app.py")
        (directory / "broken_app.py").write_text(BROKEN_APP)
        shutil.copy(LATE_FAILING_APP, directory / "late_failing_app.py")
        for release, factory in (
            ("v1", "slow_app:create"),
            ("v2", "slow_app:create"),
            ("v3", "broken_app:create"),
            ("v4", "late_failing_app:create"),
        ):
            (directory / "Dockerfile").write_text(TEST_DOCKERFILE.format(factory=factory))
            tag = f"signupflow-stacktest:{release}-{suffix}"
            docker_cmd(
                "build",
                "--quiet",
                "--build-arg",
                f"APP_IMAGE={app_image}",
                "--build-arg",
                f"RELEASE={release}",
                "--tag",
                tag,
                str(directory),
                timeout=BUILD_TIMEOUT_S,
            )
            tags[release] = tag
    return ReleaseImages(**tags)


# --- the stack ---------------------------------------------------------------------------------


@dataclass
class ProductionStack:
    stack: Stack
    workdir: Path
    http_port: int
    https_port: int
    pebble_root: Path = field(init=False)
    cert_seconds: float = field(init=False)

    @property
    def project(self) -> str:
        return self.stack.project

    @property
    def state_dir(self) -> Path:
        return self.workdir / "deploy-state"

    def https_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pebble_root))

    # --- containers --------------------------------------------------------------------------

    def containers(self, service: str) -> list[dict[str, Any]]:
        ids = docker_cmd(
            "ps",
            "--all",
            "--quiet",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ).stdout.split()
        if not ids:
            return []
        found = json.loads(docker_cmd("inspect", *ids).stdout)
        return sorted(found, key=lambda c: c["Created"])

    def running_replicas(self) -> list[dict[str, Any]]:
        return [c for c in self.containers("app") if c["State"]["Running"]]

    def edge_id(self) -> str:
        return str(self.containers("edge")[0]["Id"])

    def rotation(self) -> list[str]:
        """The running replicas the edge proxies to: those carrying a colour alias
        (app-blue, app-green) on the edge network."""
        network = f"{self.project}_edge"
        return [
            c["Name"].lstrip("/")
            for c in self.running_replicas()
            if {"app-blue", "app-green"}
            & set(((c["NetworkSettings"]["Networks"].get(network) or {}).get("Aliases")) or ())
        ]

    def psql(self, statement: str) -> str:
        """`statement`'s rows, run by psql as the superuser over the database container's
        socket (the operator's view): unaligned, no headers, no command tags."""
        return self.stack.compose(
            "exec", "-T", "postgres", "psql", "--username=signupflow", "--dbname=signupflow",
            "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-Atc", statement,
        ).stdout.strip()  # fmt: skip

    def ready_inside(self, container: str) -> bool:
        """/health/ready answered 200 inside the replica (not through the edge)."""
        probe = (
            "import urllib.request as u\n"
            "print(u.build_opener(u.ProxyHandler({}))"
            ".open('http://127.0.0.1:8000/health/ready', timeout=2).status)"
        )
        result = docker_cmd("exec", container, "python", "-c", probe, check=False)
        return result.stdout.strip() == "200"

    # --- the deploy tool ---------------------------------------------------------------------

    def deploy_command(
        self,
        *args: str,
        lock_ttl: float = 30,
        lock_wait: float = 0,
        watch_window: float = WATCH_WINDOW_S,
    ) -> list[str]:
        command = [
            sys.executable,
            str(DEPLOY_TOOL),
            "--project",
            self.project,
            "--docker",
            str(DOCKER),
            "--compose",
            compose_binary(),
            "--state-dir",
            str(self.state_dir),
            # The stack's own env file (a developer's deploy/compose/.env must not leak in):
            # the tool records the release there, as in production.
            "--env-file",
            str(self.env_file),
            "--ready-timeout",
            str(READY_TIMEOUT_S),
            "--lock-ttl",
            str(lock_ttl),
            "--lock-wait",
            str(lock_wait),
            "--verify-url",
            f"https://{DOMAINS[0]}/health/live",
            "--verify-connect",
            f"127.0.0.1:{self.https_port}",
            "--verify-cacert",
            str(self.pebble_root),
            "--watch-window",
            str(watch_window),
        ]
        for path in self.stack.files:
            command += ["--file", str(path)]
        return [*command, *args]

    @property
    def env_file(self) -> Path:
        assert self.stack.env_file is not None
        return self.stack.env_file

    def env_values(self) -> dict[str, str]:
        """The stack's env file as Compose reads it."""
        values = {}
        for line in self.env_file.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'")
        return values

    def deploy_env(self) -> dict[str, str]:
        # Nothing that Compose would read instead of the env file: the environment wins over
        # it, and the tool records the release in the file.
        return {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("COMPOSE_") and k not in self.env_values()
        }

    def run_deploy(
        self,
        *args: str,
        timeout: float = DEPLOY_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
        **options: float,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.deploy_command(*args, **options),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**self.deploy_env(), **(env or {})},
            cwd=REPO,
        )

    def state(self) -> dict[str, Any]:
        """The deploy tool's state.json (current and previous release)."""
        path = self.state_dir / self.project / "state.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def history(self) -> list[dict[str, Any]]:
        result = self.run_deploy("history", "--json", "--limit", "1000", timeout=60)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    # --- HTTPS through the edge --------------------------------------------------------------

    def get(
        self, path: str, *, domain: str = DOMAINS[0], headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        return https_get(
            ("127.0.0.1", self.https_port),
            domain,
            path,
            context=self.https_context(),
            headers=headers,
        )

    def request(self, path: str, *, domain: str = DOMAINS[0]) -> Answer:
        return https_request(
            ("127.0.0.1", self.https_port), domain, path, context=self.https_context()
        )

    def releases_through_edge(self, count: int) -> list[str]:
        releases = []
        for _ in range(count):
            status, body = self.get("/health/live")
            releases.append(json.loads(body)["release"] if status == 200 else f"HTTP {status}")
        return releases


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    certificate: dict[str, Any]


def https_request(
    address: tuple[str, int],
    domain: str,
    path: str,
    *,
    context: ssl.SSLContext,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = REQUEST_TIMEOUT_S,
) -> Answer:
    """One request on a fresh TLS connection to `address`, with `domain` as SNI and Host."""
    raw = socket.create_connection(address, timeout=timeout)
    # As browsers and curl: without it, Nagle's algorithm holds the request back behind the
    # handshake's last message until the server's delayed ACK (40 ms).
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock = context.wrap_socket(raw, server_hostname=domain)
    except BaseException:
        raw.close()
        raise
    try:
        # Before the response: http.client closes the socket after reading one that says
        # `Connection: close`.
        certificate = dict(sock.getpeercert() or {})
        connection = http.client.HTTPConnection(domain, address[1], timeout=timeout)
        connection.sock = sock
        connection.request(method, path, body=body, headers={"Host": domain, **(headers or {})})
        response = connection.getresponse()
        return Answer(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
            certificate,
        )
    finally:
        sock.close()


def https_get(
    address: tuple[str, int],
    domain: str,
    path: str,
    *,
    context: ssl.SSLContext,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, bytes]:
    answer = https_request(
        address, domain, path, context=context, headers=headers, method=method, body=body
    )
    return answer.status, answer.body


def http_get(port: int, domain: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("GET", path, headers={"Host": domain})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def _wait_for_certificates(stack: ProductionStack, started_at: float) -> float:
    """Seconds from the edge's start until every domain serves a chain that verifies against
    Pebble's root."""
    pending = set(DOMAINS)
    deadline = time.monotonic() + CERT_TIMEOUT_S * 2
    context = stack.https_context()
    last_error = ""
    while pending and time.monotonic() < deadline:
        for domain in sorted(pending):
            try:
                raw = socket.create_connection(("127.0.0.1", stack.https_port), timeout=5)
                with context.wrap_socket(raw, server_hostname=domain):
                    pending.discard(domain)
            except (OSError, ssl.SSLError) as exc:
                last_error = f"{domain}: {exc}"
        if pending:
            time.sleep(0.25)
    if pending:
        raise AssertionError(f"no verifiable certificate for {sorted(pending)}: {last_error}")
    return time.time() - started_at


def _started_at(container: dict[str, Any]) -> float:
    """State.StartedAt (RFC 3339 in UTC, nanoseconds) as Unix time."""
    stamp = str(container["State"]["StartedAt"]).rstrip("Z")
    seconds, _, fraction = stamp.partition(".")
    return calendar.timegm(time.strptime(seconds, "%Y-%m-%dT%H:%M:%S")) + float(f"0.{fraction}")


# Where Alertmanager sends notifications unless a test listens: nothing answers on the discard
# port, so nothing leaves the machine.
NO_ALERT_RECEIVER = "http://127.0.0.1:9/alerts"
# A test's own webhook receiver, on the stack's alert-egress network (tests/deploy/operated/).
ALERT_RECEIVER_ALIAS = "alert-receiver"
ALERT_RECEIVER_PORT = 8080
ALERT_RECEIVER_URL = f"http://{ALERT_RECEIVER_ALIAS}:{ALERT_RECEIVER_PORT}/alerts"
MONITORING_IMAGES = {
    "PROMETHEUS_IMAGE": "prometheus",
    "ALERTMANAGER_IMAGE": "alertmanager",
    "NODE_EXPORTER_IMAGE": "node-exporter",
    "POSTGRES_EXPORTER_IMAGE": "postgres-exporter",
    "REDIS_EXPORTER_IMAGE": "redis-exporter",
    "BLACKBOX_EXPORTER_IMAGE": "blackbox-exporter",
}
MONITORING_UID = 65534  # Alertmanager's user (deploy/secrets/create_secrets.py)


def _write_secret(secrets_dir: Path, name: str, value: str, uid: int) -> None:
    """A secret file as the operator writes one: 0600, owned by the container user."""
    path = secrets_dir / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(path, uid, uid)


@contextmanager
def production_stack(
    images: ReleaseImages,
    base_images: Mapping[str, str],
    *,
    overlays: Sequence[Path] = (),
    extra_env: Mapping[str, str] | None = None,
    extra_secrets: Mapping[str, tuple[str, int]] | None = None,
) -> Iterator[ProductionStack]:
    """compose.prod.yml + compose.pebble.yml (+ `overlays`) serving v1, with certificates
    for both domains and the edge pointed at the replicas by the deploy tool; `down -v` after.
    The monitoring services run too: Alertmanager posts to NO_ALERT_RECEIVER unless
    `extra_secrets` names another alert_webhook_url, and the blackbox exporter trusts Pebble's
    root (written once Pebble has started). `extra_env` joins the stack's env file,
    `extra_secrets` (name: (value, owner uid)) its secrets."""
    subnet = free_edge_subnet()
    http_port, https_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="signupflow-stack-"))
    secrets_dir = workdir / "secrets"
    create_secrets(secrets_dir)
    # The operator's files, above all (docs/monitoring.md) the URL Alertmanager posts to.
    operator_secrets = {"alert_webhook_url": (NO_ALERT_RECEIVER, MONITORING_UID)}
    for name, (value, uid) in (operator_secrets | dict(extra_secrets or {})).items():
        _write_secret(secrets_dir, name, value, uid)
    # Bind-mounted into the blackbox exporter before Pebble's root is known: the file must
    # exist (or Docker makes a directory of it), and is filled in place once fetched.
    pebble_root = workdir / "pebble-root.pem"
    pebble_root.touch(mode=0o644)
    env = {
        "APP_IMAGE": images.v1,
        "APP_RELEASE": "v1",
        "DOMAINS": ",".join(DOMAINS),
        "PUBLIC_URL": f"https://{DOMAINS[0]}",
        # The web image as the worker: it solves with the heuristic alone (no CP-SAT), which
        # saves building the worker image for the stack; test_image.py covers that image.
        "WORKER_IMAGE": images.v1,
        # Nothing listens there: mail stays queued in the outbox, retried with backoff.
        "SMTP_HOST": "smtp.invalid",
        "SECRETS_DIR": str(secrets_dir),
        "EDGE_BIND": "127.0.0.1",
        "HTTP_PORT": str(http_port),
        "HTTPS_PORT": str(https_port),
        "EDGE_SUBNET": subnet,
        "EDGE_IP": subnet.rsplit(".", 1)[0] + ".250",
        "ACME_EMAIL": "ops@example.test",
        "CADDY_IMAGE": base_images["caddy"],
        "PEBBLE_IMAGE": base_images["pebble"],
        "POSTGRES_IMAGE": base_images["postgres"],
        "REDIS_IMAGE": base_images["redis"],
        "LOGSTORE_IMAGE": base_images["logstore"],
        "CERT_PROBE_CA_FILE": str(pebble_root),
        **{variable: base_images[name] for variable, name in MONITORING_IMAGES.items()},
        **(extra_env or {}),
    }
    # In an env file, as an operator's .env: the deploy tool records the release it switched
    # to there, where `docker compose up` reads it.
    env_file = workdir / "stack.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    env_file.chmod(0o600)
    try:
        files = (*FILES, *overlays)
        with compose_stack(files, prefix="sf-stack", env={}, env_file=env_file) as stack:
            production = ProductionStack(stack, workdir, http_port, https_port)
            try:
                up = stack.up("--detach", "--wait", timeout=STACK_UP_TIMEOUT_S)
                said = f"{up.stdout[-3000:]}{up.stderr[-3000:]}\n{stack.logs()}"
                assert up.returncode == 0, said
                pebbles = production.containers("pebble")
                assert pebbles, said
                pebble = pebbles[0]["Id"]
                listener = workdir / "pebble-listener.pem"
                docker_cmd("cp", f"{pebble}:/test/certs/localhost/cert.pem", str(listener))
                port = stack.compose("port", "pebble", "15000").stdout.strip().rsplit(":", 1)[1]
                # The management API's own certificate is Pebble's listener certificate (for
                # 127.0.0.1 too): verified, not skipped.
                status, root = https_get(
                    ("127.0.0.1", int(port)),
                    "127.0.0.1",
                    "/roots/0",
                    context=ssl.create_default_context(cafile=str(listener)),
                )
                assert status == 200, root
                production.pebble_root = pebble_root
                # In place (same inode): the blackbox exporter's bind mount sees it.
                with pebble_root.open("r+b") as stream:
                    stream.write(root)
                    stream.truncate()
                edge = production.containers("edge")[0]
                production.cert_seconds = _wait_for_certificates(production, _started_at(edge))
                # From start.sh's `to app:8000` to the replicas by name.
                bootstrap = production.run_deploy("reload-edge", timeout=120)
                assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
                yield production
            except BaseException:
                print(stack.logs(), file=sys.stderr)
                raise
            finally:
                for pin in ("current", "previous"):
                    docker_cmd("rmi", f"{stack.project}-app:{pin}", check=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- load ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    started: float  # time.time()
    ended: float
    path: str
    status: int | None
    release: str | None
    error: str | None
    detail: str = ""  # the start of a failed response's body
    retried: bool = False  # sent again on a new connection (see Client.get)
    method: str = "GET"
    expected: int = 200  # 201 for a write

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == self.expected


@dataclass
class LoadReport:
    outcomes: list[Outcome]
    seconds: float

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def rate(self) -> float:
        return len(self.outcomes) / self.seconds if self.seconds else 0.0

    @property
    def releases(self) -> set[str]:
        return {o.release for o in self.outcomes if o.release}

    def slow(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.path == "/test/slow"]

    @property
    def retried(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.retried]

    def summary(self) -> str:
        slow = self.slow()
        return (
            f"{len(self.outcomes)} requests in {self.seconds:.0f} s ({self.rate:.0f}/s, "
            f"{len(slow)} of 5 s), {len(self.failures)} failed, {len(self.retried)} retried "
            f"on a new connection, releases {sorted(self.releases)}"
        )

    def describe_failures(self, limit: int = 10) -> str:
        return "\n".join(
            f"  {o.method} {o.path} at {o.started:.2f}-{o.ended:.2f}: {o.status} "
            f"{o.error or o.detail}"
            for o in self.failures[:limit]
        )


# The server closed a persistent connection before answering: nothing of the request was
# processed, and RFC 9112 section 9.3.1 lets a client send an idempotent request again on a
# new connection (browsers do). Any other error, or a second one, is a failure.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Client:
    """One persistent HTTPS connection to the edge (SNI and Host = `domain`), as a browser
    keeps one: reopened when the server closes it."""

    def __init__(self, address: tuple[str, int], domain: str, context: ssl.SSLContext) -> None:
        self.address = address
        self.domain = domain
        self.context = context
        self.connection: http.client.HTTPConnection | None = None
        self.used = 0

    def _open(self) -> http.client.HTTPConnection:
        raw = socket.create_connection(self.address, timeout=REQUEST_TIMEOUT_S)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock = self.context.wrap_socket(raw, server_hostname=self.domain)
        except BaseException:
            raw.close()
            raise
        connection = http.client.HTTPConnection(
            self.domain, self.address[1], timeout=REQUEST_TIMEOUT_S
        )
        connection.sock = sock
        self.used = 0
        return connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, bytes, bool]:
        """(status, body, retried)."""
        return self.send("GET", path, headers, retry=True)

    def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        retry: bool,
    ) -> tuple[int, bytes, bool]:
        """(status, body, retried). With retry, a request whose reused connection the server
        had closed is sent once more on a new one (STALE_CONNECTION); without, any error is
        the caller's, as for a client that never retries."""
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = self._open()
            reused = self.used > 0
            try:
                self.connection.request(
                    method, path, body=body, headers={"Host": self.domain, **headers}
                )
                response = self.connection.getresponse()
                answer = response.read()
            except STALE_CONNECTION:
                self.close()
                if not retry or not reused or attempt == 2:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            self.used += 1
            if response.will_close:
                self.close()
            return response.status, answer, attempt == 2
        raise AssertionError("unreachable")


class Load:
    """`rate` requests per second from `workers` clients, each on its own persistent HTTPS
    connection, mixed: /health/live (which names the release that answered) and an
    authenticated API list that queries the database; plus `slow` clients that keep
    /test/slow (5 s) requests in flight all the time. A request counts as failed unless it
    got a 200; the one retry a client may make (STALE_CONNECTION) is counted separately."""

    # Not /health/ready: the edge's probe, which a replica answers 503 from its first moment
    # of draining, by design, while it still serves everything else for DRAIN_DELAY_S.
    FAST_PATHS = ("/health/live", "/api/v1/events", "/health/live", "/health/live")

    def __init__(
        self,
        stack: ProductionStack,
        *,
        rate: float = 64,
        workers: int = 16,
        slow: int = 4,
        max_seconds: float = LOAD_MAX_S,
    ) -> None:
        self.stack = stack
        self.address = ("127.0.0.1", stack.https_port)
        self.context = stack.https_context()
        self.rate = rate
        self.workers = workers
        self.slow_clients = slow
        self.max_seconds = max_seconds
        self.token = ""
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next = 0
        self._threads: list[threading.Thread] = []
        self._started = 0.0
        self._stopped = 0.0
        self._deadline = 0.0

    def _post(self, path: str, body: dict[str, str]) -> tuple[int, bytes]:
        return https_get(
            self.address,
            DOMAINS[0],
            path,
            context=self.context,
            method="POST",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )

    def sign_up(self) -> None:
        """Sign up and follow the confirmation link from the outbox (the stack's relay,
        smtp.invalid, never takes the mail, so its row keeps the token)."""
        slug = f"load-{uuid.uuid4().hex[:10]}"
        email = f"admin@{slug}.example.org"
        status, answer = self._post(
            "/api/v1/auth/signup",
            {
                "organisation_name": "Load",
                "slug": slug,
                "name": "Load Admin",
                "email": email,
                "password": "correct horse battery staple",
            },
        )
        assert status == 202, answer
        rows = self.stack.stack.compose(
            "exec",
            "-T",
            "postgres",
            "psql",
            "-U",
            "signupflow",
            "-d",
            "signupflow",
            "-AtF",
            " ",
            "-c",
            "SELECT payload->>'to', payload->>'token' FROM notifications "
            "WHERE kind = 'signup_confirm' AND payload->>'token' IS NOT NULL ORDER BY id DESC",
        ).stdout.split("\n")
        tokens = [row.split(" ")[1] for row in rows if row.startswith(f"{email} ")]
        assert tokens, f"no confirmation mail to {email} in the outbox"
        token = tokens[0]
        status, answer = self._post("/api/v1/auth/signup/confirm", {"token": token})
        assert status == 201, answer
        self.token = json.loads(answer)["access_token"]

    def __enter__(self) -> Self:
        self.sign_up()
        self._started = time.monotonic()
        self._deadline = self._started + self.max_seconds
        for index in range(self.workers):
            self._threads.append(threading.Thread(target=self._fast, name=f"load-{index}"))
        for index in range(self.slow_clients):
            self._threads.append(threading.Thread(target=self._slow, name=f"slow-{index}"))
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> LoadReport:
        """Stop sending, wait for the requests in flight (slow ones take up to 5 s), and
        report. The rate counts the time requests were being sent, not that wait."""
        if not self._stop.is_set():
            self._stopped = time.monotonic()
            self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)
        self._threads = []
        with self._lock:
            return LoadReport(list(self.outcomes), self._stopped - self._started)

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _client(self) -> Client:
        return Client(self.address, DOMAINS[0], self.context)

    def _fast(self) -> None:
        client = self._client()
        try:
            while self._running():
                with self._lock:
                    slot = self._next
                    self._next += 1
                delay = self._started + slot / self.rate - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                self._send_slot(client, slot)
        finally:
            client.close()

    def _slow(self) -> None:
        client = self._client()
        try:
            while self._running():
                self._send_slow(client)
        finally:
            client.close()

    def _send_slot(self, client: Client, slot: int) -> None:
        """The paced request number `slot` of the fast workers."""
        self._request(client, self.FAST_PATHS[slot % len(self.FAST_PATHS)])

    def _send_slow(self, client: Client) -> None:
        self._request(client, "/test/slow")

    def _request(self, client: Client, path: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if path.startswith("/api/") else {}
        started = time.time()
        status: int | None = None
        release: str | None = None
        error: str | None = None
        detail = ""
        retried = False
        try:
            status, body, retried = client.get(path, headers)
            if path == "/health/live" and status == 200:
                release = str(json.loads(body)["release"])
            elif status != 200:
                detail = body[:200].decode(errors="replace")
        except Exception as exc:  # every failure is data here, never a crashed thread
            error = f"{type(exc).__name__}: {exc}"
        outcome = Outcome(started, time.time(), path, status, release, error, detail, retried)
        with self._lock:
            self.outcomes.append(outcome)


class MixedLoad(Load):
    """The load of a client that never retries: each worker keeps one persistent HTTPS
    connection and sends GETs (/health/live, an authenticated list) and POSTs that create
    a person (one request in six); any error or unexpected status is a failure,
    and a connection the server closed is reopened only for the next request. Every write the
    server acknowledged (201 with the new row's id) is recorded, so that `missing_writes`
    can check afterwards that each one is in the database."""

    # Not /health/ready, as in Load. A quarter of the requests are API calls (16/s at 64/s),
    # under the app's per-client budget (API_REQUESTS_PER_MINUTE, 1200: 20/s sustained), so
    # a long run never meets a 429.
    MIXED_PATHS = (
        ("GET", "/health/live"),
        ("POST", "/api/v1/people"),
        ("GET", "/health/live"),
        ("GET", "/health/live"),
        ("GET", "/api/v1/events"),
        ("GET", "/health/live"),
        ("GET", "/health/live"),
        ("POST", "/api/v1/people"),
        ("GET", "/health/live"),
        ("GET", "/health/live"),
        ("GET", "/health/live"),
        ("GET", "/health/live"),
    )

    def __init__(self, stack: ProductionStack, **options: Any) -> None:
        super().__init__(stack, **options)
        self.acknowledged: list[int] = []
        self._written = 0
        self._run = uuid.uuid4().hex[:8]

    def _send_slot(self, client: Client, slot: int) -> None:
        method, path = self.MIXED_PATHS[slot % len(self.MIXED_PATHS)]
        if method == "POST":
            self._write(client, slot)
        else:
            self._send(client, method, path)

    def _send_slow(self, client: Client) -> None:
        self._send(client, "GET", "/test/slow")

    def _write(self, client: Client, slot: int) -> None:
        body = {"name": f"Load {slot}", "email": f"w{slot}-{self._run}@load.example.org"}
        self._send(client, "POST", "/api/v1/people", json.dumps(body).encode(), expected=201)

    def _send(
        self,
        client: Client,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        expected: int = 200,
    ) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if path.startswith("/api/") else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.time()
        status: int | None = None
        release: str | None = None
        error: str | None = None
        detail = ""
        try:
            status, answer, _ = client.send(method, path, headers, body, retry=False)
            if status != expected:
                detail = answer[:200].decode(errors="replace")
            elif path == "/health/live":
                release = str(json.loads(answer)["release"])
            elif method == "POST":
                written = int(json.loads(answer)["id"])
                with self._lock:
                    self.acknowledged.append(written)
        except Exception as exc:  # every failure is data here, never a crashed thread
            error = f"{type(exc).__name__}: {exc}"
        outcome = Outcome(
            started, time.time(), path, status, release, error, detail, False, method, expected
        )
        with self._lock:
            self.outcomes.append(outcome)

    def missing_writes(self) -> list[int]:
        """The acknowledged writes that are not in the database (read through psql)."""
        rows = self.stack.stack.compose(
            "exec",
            "-T",
            "postgres",
            "psql",
            "-U",
            "signupflow",
            "-d",
            "signupflow",
            "-At",
            "-c",
            # _run is this load's own hex token, not outside input.
            f"SELECT id FROM people WHERE email LIKE '%-{self._run}@load.example.org'",  # noqa: S608
        ).stdout.split()
        found = {int(row) for row in rows}
        with self._lock:
            return sorted(set(self.acknowledged) - found)


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.5) -> float:
    """Seconds until predicate() was true; AssertionError after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {predicate}")


def completed_deployments(history: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [entry for entry in history if entry["kind"] == kind]
