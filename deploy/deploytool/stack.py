"""The Compose project's app containers: listing, readiness probes, stopping."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .runner import Runner
from .settings import Settings

APP_PORT = 8000
STOP_TIMEOUT_S = 30  # the app drains in DRAIN_DELAY_S + SHUTDOWN_TIMEOUT_S = 25 s

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
    # network name -> the DNS aliases the container answers to there
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

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
            aliases={
                name: tuple(settings.get("Aliases") or ())
                for name, settings in (
                    (data.get("NetworkSettings") or {}).get("Networks") or {}
                ).items()
            },
        )


@dataclass(frozen=True)
class Release:
    image: str
    image_id: str
    release: str

    def describe(self) -> str:
        return f"{self.release or '?'} ({self.image}, {self.image_id[7:19]})"


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

    def probe_ready(self, container: Container) -> str:
        """/health/ready as seen inside the replica: "200", "503", or an error name."""
        result = self.runner.run(
            [*self.runner.docker, "exec", container.id, "python", "-c", READY_PROBE % APP_PORT],
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
