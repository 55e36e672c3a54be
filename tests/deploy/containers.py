"""Images and containers for the container tests: the application image built from a clean
copy of the repository, containers started with `docker run` and always removed, and the
session summary (build times, image size) shown even under -q."""

from __future__ import annotations

import shutil
import subprocess
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.docker import DOCKERFILE, docker_cmd, inspect
from harness.repository import REPO, git

# Cold, the base images take about 2 minutes (debootstrap and four `docker build`s) and the
# app image under one; these bounds leave room for a slower machine and still end a hang.
BASE_BUILD_TIMEOUT_S = 1500
APP_BUILD_TIMEOUT_S = 900
TEST_LABEL = "org.signupflow.test"

_summary: list[str] = []


def report(line: str) -> None:
    """Shown in the session's summary (build times, image size), even under -q."""
    _summary.append(line)


def session_summary() -> list[str]:
    return list(_summary)


def image_missing(ref: str) -> bool:
    return docker_cmd("image", "inspect", ref, check=False).returncode != 0


def copy_clean_tree(destination: Path) -> None:
    """The files git knows about (tracked, plus new files that are not ignored) as they are in
    the working tree. Ignored files (.venv, var/, caches, .env) never come along, whatever the
    .dockerignore says; in CI, where the checkout is clean, this is exactly HEAD."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if not (source.is_file() or source.is_symlink()):
            continue  # deleted in the working tree, or a submodule
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


@dataclass(frozen=True)
class AppImage:
    tag: str
    version: str
    revision: str
    created: str


def build_image(
    docker: str, context: Path, python_base: str, *, name: str, extras: str = ""
) -> AppImage:
    """Build the Dockerfile from a clean copy of the repository on the stand-in base."""
    revision = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain"))
    tag = f"{name}:test-{revision[:12]}{'-dirty' if dirty else ''}"
    version = tomllib.loads((context / "pyproject.toml").read_text())["project"]["version"]
    # The commit's time, not the clock: an unchanged tree then rebuilds entirely from cache.
    created = git("log", "-1", "--format=%cI")
    build_args = {
        "BASE_IMAGE": python_base,
        "EXTRAS": extras,
        "VERSION": version,
        "GIT_REVISION": revision,
        "CREATED": created,
    }
    remote = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=REPO, capture_output=True, text=True
    )
    if remote.returncode == 0 and remote.stdout.strip():
        build_args["SOURCE_URL"] = remote.stdout.strip()
    # --file is read relative to the current directory, not the context.
    command = ["build", "--file", str(context / DOCKERFILE), "--tag", tag]
    for key, value in build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    started = time.monotonic()
    try:
        result = docker_cmd(*command, str(context), timeout=APP_BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"building {tag} took more than {APP_BUILD_TIMEOUT_S} s")
    if result.returncode != 0:
        pytest.fail(f"docker build failed:\n{result.stdout[-5000:]}\n{result.stderr[-3000:]}")
    elapsed = time.monotonic() - started
    cached = result.stdout.count("Using cache")
    report(f"image {tag}: built in {elapsed:.1f} s ({cached} steps from cache)")
    return AppImage(tag=tag, version=version, revision=revision, created=created)


# --- running containers ------------------------------------------------------------------------


@dataclass
class Container:
    name: str

    def inspect(self) -> dict[str, object]:
        return inspect(self.name, "container")

    def state(self) -> dict[str, object]:
        state = self.inspect()["State"]
        assert isinstance(state, dict)
        return state

    def exec(self, *command: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        options = ["--user", user] if user else []
        return docker_cmd("exec", *options, self.name, *command, check=False)

    def logs(self) -> str:
        result = docker_cmd("logs", self.name, check=False)
        return result.stdout + result.stderr

    def url(self, port: int = 8000) -> str:
        # `-p 127.0.0.1::8000` lets the engine pick a free port; this reads which.
        published = docker_cmd("port", self.name, f"{port}/tcp").stdout.split()[0]
        return f"http://{published}"

    def wait_live(self, *, timeout: float = 60, host: str = "localhost") -> str:
        """Poll /health/live on the published port until it answers 200; return the base URL."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.state().get("Running"):
                raise AssertionError(f"container {self.name} stopped:\n{self.logs()}")
            base = self.url()
            try:
                response = httpx.get(f"{base}/health/live", headers={"Host": host}, timeout=2)
                if response.status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"/health/live did not answer in {timeout} s:\n{self.logs()}")

    def wait_health(self, status: str, *, timeout: float) -> dict[str, object]:
        """Wait for Docker's HEALTHCHECK verdict; return the health record."""
        deadline = time.monotonic() + timeout
        health: dict[str, object] = {}
        while time.monotonic() < deadline:
            found = self.state().get("Health")
            health = found if isinstance(found, dict) else {}
            if health.get("Status") == status:
                return health
            time.sleep(0.5)
        raise AssertionError(f"health is not {status!r} after {timeout} s: {health}")

    def wait_exit(self, *, timeout: float) -> int:
        result = docker_cmd("wait", self.name, timeout=timeout)
        return int(result.stdout.strip())


def start_container(*arguments: str) -> Container:
    """`docker run --detach` with these options, then the image and its command. Containers are
    labelled, so leftovers of an interrupted run are found with `--filter label=...`."""
    name = f"sf-test-{uuid.uuid4().hex[:10]}"
    docker_cmd("run", "--detach", "--name", name, "--label", TEST_LABEL, *arguments)
    return Container(name)


def remove_container(container: Container) -> None:
    docker_cmd("rm", "--force", "--volumes", container.name, check=False)
