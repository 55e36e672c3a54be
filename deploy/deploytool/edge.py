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

# Written by deploy/edge/caddy/start.sh and imported by the Caddyfile's reverse_proxy block.
EDGE_UPSTREAMS_FILE = "/var/lib/signupflow-edge/upstreams.caddy"
EDGE_RELOAD = ("caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile")
VERIFY_STREAK = 6  # consecutive answers naming the new release through the edge
POLL_S = 0.5


class Edge:
    """The edge container of the Compose project, and its upstream list."""

    def __init__(self, runner: Runner, settings: Settings, stack: Stack) -> None:
        self.runner = runner
        self.settings = settings
        self.stack = stack

    def container(self) -> Container:
        running = [c for c in self.stack.containers(self.settings.edge_service) if c.running]
        if not running:
            raise DeployError(
                f"no running `{self.settings.edge_service}` container in project "
                f"{self.settings.project} (is the stack up?)"
            )
        return running[0]

    def rotation(self) -> list[str]:
        """The upstream host names the edge proxies to (`to a:8000 b:8000`)."""
        text = self.runner.docker_run("exec", self.container().id, "cat", EDGE_UPSTREAMS_FILE)
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
        edge = self.container()
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
            "exec", "-i", edge.id, "sh", "-c", script, "sh", EDGE_UPSTREAMS_FILE, input_text=content
        )


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
