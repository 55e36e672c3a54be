"""The backup service's image (deploy/docker/backup/, the app image plus pg_dump) on a real
Docker engine, run as compose.prod.yml runs it: read-only root, no capabilities, state on a
volume at /app/var, secrets as files. One scheduled run must create and verify a backup
against a real PostgreSQL container and report it on the metrics endpoint. Everything made
here carries a unique prefix and is removed afterwards."""

from __future__ import annotations

import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
import pytest

from harness.docker import docker_cmd
from harness.repository import REPO
from tests.deploy.containers import AppImage, report

DOCKERFILE = REPO / "deploy" / "docker" / "backup" / "Dockerfile"
BUILD_TIMEOUT_S = 600
WAIT_S = 180
APP_UID = 10001
POSTGRES_UID = 999

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S + 3 * WAIT_S)


@pytest.fixture(scope="module")
def backup_image(app_image: AppImage) -> Iterator[str]:
    tag = f"signupflow-backup:test-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    docker_cmd(
        "build",
        "--file",
        str(DOCKERFILE),
        "--build-arg",
        f"APP_IMAGE={app_image.tag}",
        "--tag",
        tag,
        str(DOCKERFILE.parent),
        timeout=BUILD_TIMEOUT_S,
    )
    report(f"backup image {tag}: built in {time.monotonic() - started:.1f} s")
    yield tag
    docker_cmd("image", "rm", "--force", tag, check=False)


def write_secret(directory: Path, name: str, value: str, uid: int) -> None:
    path = directory / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(path, uid, uid)  # the reading container's user, as create_secrets.py does


def wait_for(condition: object, what: str, logs: object) -> None:
    assert callable(condition)
    assert callable(logs)
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {WAIT_S} s:\n{logs()}")
        time.sleep(1)


def test_the_backup_image_runs_a_verified_backup_read_only_with_secrets_as_files(
    backup_image: str, app_image: AppImage, base_images: dict[str, str], tmp_path: Path
) -> None:
    prefix = f"sf-bkp-{uuid.uuid4().hex[:8]}"
    net, db, service, volume = (f"{prefix}-{s}" for s in ("net", "db", "backup", "data"))
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    secrets_dir.chmod(0o755)
    password = secrets.token_hex(16)
    identity = pyrage.x25519.Identity.generate()
    write_secret(secrets_dir, "postgres_password", password, POSTGRES_UID)
    write_secret(
        secrets_dir,
        "database_url",
        f"postgresql+psycopg://signupflow:{password}@{db}:5432/signupflow",
        APP_UID,
    )
    write_secret(secrets_dir, "backup_age_identity", str(identity), APP_UID)
    app_env = [
        "--env",
        "APP_ENV=test",
        "--env",
        "DATABASE_URL_FILE=/run/secrets/database_url",
        "--volume",
        f"{secrets_dir}:/run/secrets:ro",
        "--network",
        net,
    ]

    def logs() -> str:
        out = [docker_cmd("logs", name, check=False) for name in (db, service)]
        return "\n".join(r.stdout[-3000:] + r.stderr[-3000:] for r in out)

    docker_cmd("network", "create", "--label", "org.signupflow.test", net)
    try:
        docker_cmd(
            "run", "--detach", "--name", db, "--label", "org.signupflow.test",
            "--network", net, "--volume", f"{secrets_dir}:/run/secrets:ro",
            "--env", "POSTGRES_USER=signupflow",
            "--env", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password",
            base_images["postgres"],
        )  # fmt: skip
        wait_for(
            lambda: (
                docker_cmd("inspect", "--format", "{{.State.Health.Status}}", db).stdout.strip()
                == "healthy"
            ),
            "healthy database",
            logs,
        )
        docker_cmd("run", "--rm", *app_env, app_image.tag, "db", "upgrade", timeout=WAIT_S)
        docker_cmd(
            "run", "--detach", "--name", service, "--label", "org.signupflow.test",
            *app_env,
            # As compose.prod.yml runs it.
            "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges:true",
            "--volume", f"{volume}:/app/var",
            "--env", "BACKUP_DIR=/app/var/backups",
            "--env", "TMPDIR=/app/var",
            "--env", f"BACKUP_AGE_RECIPIENT={identity.to_public()}",
            "--env", "BACKUP_AGE_IDENTITY_FILE=/run/secrets/backup_age_identity",
            "--env", "BACKUP_SCHEDULE_RUN_ON_START=true",
            "--env", "BACKUP_SCHEDULE_INTERVAL_S=3600",
            backup_image,
        )  # fmt: skip

        def metrics() -> str:
            done = docker_cmd(
                "exec", service, "python", "-c",
                "import urllib.request; print(urllib.request.urlopen("
                "'http://127.0.0.1:9108/metrics', timeout=5).read().decode())",
                check=False,
            )  # fmt: skip
            return done.stdout

        wait_for(lambda: "signupflow_backup_last_run_success" in metrics(), "a run", logs)
        scraped = metrics()
        assert "signupflow_backup_last_run_success 1" in scraped, logs()
        size = re.search(r'signupflow_backup_last_size_bytes\{kind="encrypted"\} (\S+)', scraped)
        assert size is not None
        assert float(size.group(1)) > 0
        listed = docker_cmd("exec", service, "ls", "/app/var/backups").stdout.split()
        assert any(name.endswith(".dump.age") for name in listed), listed
        assert any(name.endswith(".manifest.json") for name in listed), listed
        assert password not in logs()
        assert str(identity) not in docker_cmd("inspect", service).stdout
    finally:
        for name in (service, db):
            docker_cmd("rm", "--force", "--volumes", name, check=False, timeout=120)
        docker_cmd("volume", "rm", "--force", volume, check=False)
        docker_cmd("network", "rm", net, check=False)
