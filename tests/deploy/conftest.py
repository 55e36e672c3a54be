"""Fixtures for the container tests: a real Docker engine, the local stand-in base images
(deploy/images/) and the application image built from a clean copy of the repository.

Images are built once per session and kept, so the next session reuses them and the Docker
layer cache. Every build and every wait is bounded. Outside CI a missing engine skips these
tests, saying why; under CI=true it fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.docker import BASE_BUILDER, BASE_IMAGES, DOCKER, PYTHON_BASE, docker_cmd
from harness.stack import ReleaseImages, build_test_images
from tests.deploy.containers import (
    APP_BUILD_TIMEOUT_S,
    BASE_BUILD_TIMEOUT_S,
    AppImage,
    Container,
    build_image,
    copy_clean_tree,
    image_missing,
    remove_container,
    report,
    session_summary,
    start_container,
)
from tests.support.services import require_service

HERE = Path(__file__).resolve().parent
# pytest-timeout counts session fixtures against the first test that uses them.
DEPLOY_TEST_TIMEOUT_S = BASE_BUILD_TIMEOUT_S + APP_BUILD_TIMEOUT_S + 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEPLOY_TEST_TIMEOUT_S))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if summary := session_summary():
        terminalreporter.section("container images")
        for line in summary:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def docker() -> str:
    if not DOCKER.exists():
        require_service(f"{DOCKER} is not installed (apt-get install docker.io)")
    try:
        result = docker_cmd("version", "--format", "{{.Server.Version}}", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        require_service("the Docker engine did not answer within 30 s")
    if result.returncode != 0:
        require_service(f"the Docker engine is not reachable: {result.stderr.strip()[:300]}")
    return str(DOCKER)


@pytest.fixture(scope="session")
def base_images(docker: str) -> dict[str, str]:
    """The local stand-in base images (name -> reference); builds only what is missing."""
    missing = [ref for ref in BASE_IMAGES.values() if image_missing(ref)]
    if PYTHON_BASE in missing and (os.geteuid() != 0 or shutil.which("debootstrap") is None):
        require_service("building the stand-in base image needs root and debootstrap")
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, str(BASE_BUILDER), "--docker", docker],
            capture_output=True,
            text=True,
            timeout=BASE_BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"building the base images took more than {BASE_BUILD_TIMEOUT_S} s")
    if result.returncode != 0:
        pytest.fail(f"building the base images failed:\n{result.stdout}\n{result.stderr}")
    elapsed = time.monotonic() - started
    report(f"base images: {elapsed:.1f} s (missing before: {', '.join(missing) or 'none'})")
    return dict(BASE_IMAGES)


@pytest.fixture(scope="session")
def image_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    context = tmp_path_factory.mktemp("image-context")
    copy_clean_tree(context)
    return context


@pytest.fixture(scope="session")
def app_image(docker: str, base_images: dict[str, str], image_context: Path) -> AppImage:
    """The web image: the app without the optional solver."""
    return build_image(docker, image_context, base_images["python"], name="signupflow")


@pytest.fixture(scope="session")
def worker_image(docker: str, base_images: dict[str, str], image_context: Path) -> AppImage:
    """The worker image: the same build with the CP-SAT solver (EXTRAS=solver)."""
    return build_image(
        docker, image_context, base_images["python"], name="signupflow-worker", extras="solver"
    )


@pytest.fixture(scope="session")
def images(app_image: AppImage) -> ReleaseImages:
    """The stack tests' releases v1-v4 (harness/stack.py), built on the app image."""
    return build_test_images(app_image.tag)


@pytest.fixture
def run_container(docker: str) -> Iterator[Callable[..., Container]]:
    """`start_container` for one test; every container it started is removed afterwards."""
    started: list[Container] = []

    def _run(*arguments: str) -> Container:
        container = start_container(*arguments)
        started.append(container)
        return container

    yield _run
    for container in started:
        remove_container(container)
