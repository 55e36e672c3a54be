"""The Docker engine and the images the container tests and bench-deploy build: the engine's
own CLI, the local stand-in base images (deploy/images/) and the application's Dockerfile."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.repository import REPO, script_module

DOCKER = Path("/usr/bin/docker")  # the engine's own CLI (API 1.41); a newer one is on PATH
BASE_BUILDER = REPO / "deploy" / "images" / "build_base_images.py"
DOCKERFILE = "deploy/docker/Dockerfile"
# The stand-in base images, name -> reference: as build_base_images.py builds them.
_BUILDER = script_module(BASE_BUILDER, "build_base_images")
PYTHON_BASE: str = _BUILDER.PYTHON.ref
BASE_IMAGES: dict[str, str] = {image.name: image.ref for image in _BUILDER.IMAGES}


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
