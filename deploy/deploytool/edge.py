"""The Caddy edge: which replicas it proxies to, and the release that answers through it."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from .runner import DeployError, Runner, say
from .settings import Settings
from .stack import APP_PORT, Container, Stack

# The edge proxies to two fixed names, `<service>-blue:8000` and `<service>-green:8000`
# (the Caddyfile), each checked on /health/ready every second. They are network aliases on the
# Compose project's edge network, which the deploy tool gives a replica (`docker network
# connect --alias`) once the replica is ready; Docker's DNS answers a name with the running
# containers that carry it. So the edge's configuration never changes and Caddy never reloads:
# a switch adds the new colour's replicas to the network, and the old colour leaves the
# rotation by itself when its replicas drain (503 on /health/ready) and then exit (the name
# resolves to nothing). Client connections to the edge are never closed by a deploy.
COLOURS = ("blue", "green")
EDGE_NETWORK = "edge"  # the network's key in compose.prod.yml
ADMIN_METRICS = "http://127.0.0.1:2019/metrics"
HEALTH_LOGGER = "http.handlers.reverse_proxy.health_checker.active"
LOG_LOOKBACK_S = 5
VERIFY_STREAK = 6  # consecutive answers naming the new release through the edge
POLL_S = 0.5
# The edge's first check of a name it could not resolve until now: a few seconds normally;
# a cold start on an empty host (deploy.py restore in the disaster-recovery drill) on a busy
# 2-core machine took more than 30 s once, so 60.
SEEN_TIMEOUT_S = 60


def other_colour(colour: str) -> str:
    return COLOURS[1] if colour == COLOURS[0] else COLOURS[0]


class Edge:
    """The edge container of the Compose project, and which replicas it proxies to."""

    def __init__(self, runner: Runner, settings: Settings, stack: Stack) -> None:
        self.runner = runner
        self.settings = settings
        self.stack = stack
        self._network = ""

    def container(self) -> Container:
        running = [c for c in self.stack.containers(self.settings.edge_service) if c.running]
        if not running:
            raise DeployError(
                f"no running `{self.settings.edge_service}` container in project "
                f"{self.settings.project} (is the stack up?)"
            )
        return running[0]

    def alias(self, colour: str) -> str:
        return f"{self.settings.service}-{colour}"

    def network(self) -> str:
        """The edge network's name (Compose prefixes the project's name)."""
        if not self._network:
            names = self.runner.docker_run(
                "network", "ls", "--format", "{{.Name}}",
                "--filter", f"label=com.docker.compose.project={self.settings.project}",
                "--filter", f"label=com.docker.compose.network={EDGE_NETWORK}",
            ).split()  # fmt: skip
            if len(names) != 1:
                raise DeployError(
                    f"no `{EDGE_NETWORK}` network of project {self.settings.project} "
                    f"(found {names}; is the stack up?)"
                )
            self._network = names[0]
        return self._network

    def colour_of(self, container: Container) -> str | None:
        """The colour alias a replica carries on the edge network, if it is in rotation."""
        aliases = container.aliases.get(self.network(), ())
        for colour in COLOURS:
            if self.alias(colour) in aliases:
                return colour
        return None

    def in_rotation(self) -> list[Container]:
        """The running replicas the edge may send requests to (they carry a colour)."""
        return [
            c
            for c in self.stack.containers(self.settings.service)
            if c.running and self.colour_of(c) is not None
        ]

    def rotation(self) -> list[str]:
        return [c.name for c in self.in_rotation()]

    def serving_colour(self) -> str | None:
        colours = {self.colour_of(c) for c in self.in_rotation()}
        return colours.pop() if len(colours) == 1 else None

    def add(self, replicas: Sequence[Container], colour: str) -> None:
        """Put ready replicas in rotation under `colour` (idempotent). No edge reload: the
        edge's check finds the name resolvable and healthy within about a second."""
        if not replicas:
            raise DeployError("refusing to leave the edge without upstreams")
        for container in replicas:
            current = self.colour_of(self.stack.inspect(container))
            if current == colour:
                continue
            if current is not None:
                raise DeployError(f"{container.name} already serves as {self.alias(current)}")
            self.runner.docker_run(
                "network", "connect", "--alias", self.alias(colour), self.network(), container.id
            )

    def healthy(self, colour: str, *, since: float) -> bool | None:
        """Whether the edge's own check last found this colour healthy. From the check's log
        lines since `since` (Unix time): Caddy logs "host is up" when a name turns healthy and
        every failed check; its metric lags up to 10 s, so it only answers when the log has
        no line about the colour (no change since). None if neither says."""
        edge = self.container().id
        logs = self.runner.run(
            [*self.runner.docker, "logs", "--since", f"{since:.3f}", edge],
            timeout=30,
            check=False,
        )
        host = f"{self.alias(colour)}:{APP_PORT}"
        last: bool | None = None
        for line in logs.stderr.splitlines():
            if HEALTH_LOGGER not in line or host not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("logger") == HEALTH_LOGGER and entry.get("host") == host:
                last = entry.get("msg") == "host is up"
        if last is not None:
            return last
        metrics = self.runner.run(
            [*self.runner.docker, "exec", edge, "sh", "-c",
             f"curl -fsS {ADMIN_METRICS} 2>/dev/null || wget -q -O - {ADMIN_METRICS}"],
            timeout=15, check=False,
        )  # fmt: skip
        wanted = f'caddy_reverse_proxy_upstreams_healthy{{upstream="{host}"}}'
        for line in metrics.stdout.splitlines():
            if line.startswith(wanted):
                return line.split()[-1] == "1"
        return None

    def wait_healthy(
        self,
        colour: str,
        *,
        healthy: bool,
        since: float | None = None,
        timeout: float = SEEN_TIMEOUT_S,
    ) -> float:
        """Seconds until the edge's check agrees: the colour in rotation (healthy) or out.
        Its log since `since` (default: a few checks back) decides; see healthy()."""
        started = time.monotonic()
        if since is None:
            # Long enough back that a colour the check finds failing has a line in it (a
            # check fails every health_interval, 1 s, after at most health_timeout, 3 s).
            since = time.time() - LOG_LOOKBACK_S
        deadline = started + timeout
        while self.healthy(colour, since=since) is not healthy:
            if time.monotonic() > deadline:
                state = "healthy" if healthy else "out of rotation"
                raise DeployError(
                    f"the edge did not see {self.alias(colour)} {state} within {timeout:.0f} s"
                )
            time.sleep(POLL_S / 2)
        return round(time.monotonic() - started, 2)


def probe(url: str, *, connect: str | None, cafile: Path | None, timeout: float) -> tuple[int, str]:
    """GET url on a fresh connection (to `connect` host:port if given, with the URL's host as
    SNI and Host): (status, the `release` its JSON body names, or "")."""
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
        release = ""
        if response.status == 200:
            answer = json.loads(body)
            release = str(answer.get("release", "")) if isinstance(answer, dict) else ""
        return response.status, release
    finally:
        sock.close()


def fetch_release(url: str, *, connect: str | None, cafile: Path | None, timeout: float) -> str:
    """The release that answers `url` (see probe); DeployError unless it answered 200."""
    status, release = probe(url, connect=connect, cafile=cafile, timeout=timeout)
    if status != 200:
        raise DeployError(f"{url} answered {status}")
    return release


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
