"""The backup service's image (deploy/docker/backup/, the app image plus pg_dump) on a real
Docker engine, run as compose.prod.yml runs it: read-only root, no capabilities, state on a
volume at /app/var, secrets as files. One scheduled run must create and check a backup against
a real PostgreSQL container, holding no private key and unable to decrypt anything, and report
it on the metrics endpoint; then the restore drill, the same image given the key, restores the
newest backup into a scratch database and reports that. Everything made here carries a unique
prefix and is removed afterwards."""

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


def test_the_backup_service_holds_no_key_and_the_drill_with_the_key_restores_its_backup(
    backup_image: str, app_image: AppImage, base_images: dict[str, str], tmp_path: Path
) -> None:
    prefix = f"sf-bkp-{uuid.uuid4().hex[:8]}"
    net, db, service, drill, volume = (
        f"{prefix}-{s}" for s in ("net", "db", "backup", "drill", "data")
    )
    # The database's, the server's and the recovery host's secrets: only the last hold the
    # private key.
    db_secrets, server_secrets, drill_secrets = (
        tmp_path / name for name in ("database", "server", "recovery")
    )
    password = secrets.token_hex(16)
    identity = pyrage.x25519.Identity.generate()
    database_url = f"postgresql+psycopg://signupflow:{password}@{db}:5432/signupflow"
    for directory in (server_secrets, drill_secrets):
        directory.mkdir()
        directory.chmod(0o755)
        write_secret(directory, "database_url", database_url, APP_UID)
    db_secrets.mkdir()
    db_secrets.chmod(0o755)
    write_secret(db_secrets, "postgres_password", password, POSTGRES_UID)
    write_secret(drill_secrets, "backup_age_identity", str(identity), APP_UID)

    def app_env(secrets_dir: Path) -> list[str]:
        return [
            "--env", "APP_ENV=test",
            "--env", "DATABASE_URL_FILE=/run/secrets/database_url",
            "--volume", f"{secrets_dir}:/run/secrets:ro",
            "--network", net,
        ]  # fmt: skip

    # As compose.prod.yml runs both.
    hardened = [
        "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges:true",
        "--volume", f"{volume}:/app/var",
        "--env", "TMPDIR=/app/var",
        "--env", "BACKUP_DIR=/app/var/backups",
        "--env", "BACKUP_SCHEDULE_RUN_ON_START=true",
        "--env", "BACKUP_SCHEDULE_INTERVAL_S=3600",
    ]  # fmt: skip

    def logs() -> str:
        out = [docker_cmd("logs", name, check=False) for name in (db, service, drill)]
        return "\n".join(r.stdout[-3000:] + r.stderr[-3000:] for r in out)

    def metrics(container: str) -> str:
        done = docker_cmd(
            "exec", container, "python", "-c",
            "import urllib.request; print(urllib.request.urlopen("
            "'http://127.0.0.1:9108/metrics', timeout=5).read().decode())",
            check=False,
        )  # fmt: skip
        return done.stdout

    docker_cmd("network", "create", "--label", "org.signupflow.test", net)
    try:
        docker_cmd(
            "run", "--detach", "--name", db, "--label", "org.signupflow.test",
            "--network", net, "--volume", f"{db_secrets}:/run/secrets:ro",
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
        docker_cmd(
            "run", "--rm", *app_env(server_secrets), app_image.tag, "db", "upgrade",
            timeout=WAIT_S,
        )  # fmt: skip
        docker_cmd(
            "run", "--detach", "--name", service, "--label", "org.signupflow.test",
            *app_env(server_secrets), *hardened,
            "--env", f"BACKUP_AGE_RECIPIENT={identity.to_public()}",
            backup_image,
        )  # fmt: skip

        wait_for(lambda: "signupflow_backup_last_run_success" in metrics(service), "a run", logs)
        scraped = metrics(service)
        assert "signupflow_backup_last_run_success 1" in scraped, logs()
        size = re.search(r'signupflow_backup_last_size_bytes\{kind="encrypted"\} (\S+)', scraped)
        assert size is not None
        assert float(size.group(1)) > 0
        listed = docker_cmd("exec", service, "ls", "/app/var/backups").stdout.split()
        backups = sorted(n.removesuffix(".dump.age") for n in listed if n.endswith(".dump.age"))
        assert len(backups) == 1, listed
        assert f"{backups[0]}.manifest.json" in listed

        # The backup service holds no private key and cannot decrypt what it made.
        assert str(identity) not in docker_cmd("inspect", service).stdout
        held = docker_cmd("exec", service, "ls", "/run/secrets").stdout.split()
        assert "backup_age_identity" not in held
        found = docker_cmd(
            "exec", service, "grep", "-rl", "AGE-SECRET-KEY", "/run/secrets", "/app/var",
            "/tmp", check=False,
        )  # fmt: skip
        assert found.returncode == 1, found.stdout  # grep: no match anywhere
        for candidate in [f"/run/secrets/{name}" for name in held]:
            attempt = docker_cmd(
                "exec", service, "signupflow", "backup", "verify",
                "--identity-file", candidate, check=False,
            )  # fmt: skip
            assert attempt.returncode == 9, attempt.stdout + attempt.stderr
            assert "not an age identity" in attempt.stderr or "no age identity" in attempt.stderr
        assert password not in logs()

        # The drill, given the key (on a recovery host; here on the same volume), restores it.
        docker_cmd(
            "run", "--detach", "--name", drill, "--label", "org.signupflow.test",
            *app_env(drill_secrets), *hardened, backup_image,
            "backup", "drill", "--identity-file", "/run/secrets/backup_age_identity",
        )  # fmt: skip
        wait_for(
            lambda: "signupflow_backup_drill_last_run_success" in metrics(drill), "a drill", logs
        )
        drilled = metrics(drill)
        assert "signupflow_backup_drill_last_run_success 1" in drilled, logs()
        assert "signupflow_backup_drill_last_success_timestamp_seconds" in drilled
        state = docker_cmd("exec", drill, "cat", "/app/var/backups/.drill-state.json").stdout
        assert f'"last_success_name": "{backups[0]}"' in state
        scratch = docker_cmd(
            "exec", db, "psql", "-U", "signupflow", "-d", "postgres", "-Atc",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'signupflow_verify_%'",
        )  # fmt: skip
        assert scratch.stdout.strip() == "0"
        assert str(identity) not in logs()
    finally:
        for name in (drill, service, db):
            docker_cmd("rm", "--force", "--volumes", name, check=False, timeout=120)
        docker_cmd("volume", "rm", "--force", volume, check=False)
        docker_cmd("network", "rm", net, check=False)
