"""The Docker engine and the images the container tests and bench-deploy build: the engine's
own CLI, the local stand-in base images (deploy/images/) and the application's Dockerfile."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.repository import REPO

DOCKER = Path("/usr/bin/docker")  # the engine's own CLI (API 1.41); a newer one is on PATH
BASE_BUILDER = REPO / "deploy" / "images" / "build_base_images.py"
DOCKERFILE = "deploy/docker/Dockerfile"
PYTHON_BASE = "signupflow-base/python:bookworm"
BASE_IMAGES = {
    "python": PYTHON_BASE,
    "postgres": "signupflow-base/postgres:15",
    "redis": "signupflow-base/redis:7",
    "caddy": "signupflow-base/caddy:2",
    "pebble": "signupflow-base/pebble:latest",
    "logstore": "signupflow-base/logstore:8",
}


def docker_cmd(
    *args: str, timeout: float = 60, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(DOCKER), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args[:3])} ... exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def inspect(ref: str, what: str = "image") -> dict[str, object]:
    data = json.loads(docker_cmd(what, "inspect", ref).stdout)
    assert isinstance(data, list)
    assert len(data) == 1
    return dict(data[0])
