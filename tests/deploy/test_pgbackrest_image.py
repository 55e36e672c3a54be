"""The PostgreSQL + pgBackRest image (deploy/docker/postgres/) on a real Docker engine.

Built FROM the local stand-in for postgres:15; one container runs the server with WAL
archiving to an encrypted repository volume, a second one (the same image) is the sidecar that
creates the stanza, takes the first full backup and writes the metrics. A row is written, the
WAL switched, and archiving, `pgbackrest check`, `info` and the archive-age metric are checked.
Every container, volume and network carries a unique prefix and is removed afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.docker import docker_cmd
from harness.repository import REPO
from tests.deploy.containers import report

DOCKERFILE = REPO / "deploy" / "docker" / "postgres" / "Dockerfile"
STANZA = "signupflow"
BUILD_TIMEOUT_S = 600
WAIT_S = 180
POSTGRES_UID = 999

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S + 4 * WAIT_S)


@pytest.fixture(scope="module")
def pgbackrest_image(base_images: dict[str, str]) -> Iterator[str]:
    tag = f"signupflow-postgres:test-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    docker_cmd(
        "build",
        "--file",
        str(DOCKERFILE),
        "--build-arg",
        f"BASE_IMAGE={base_images['postgres']}",
        "--tag",
        tag,
        str(REPO / "deploy"),
        timeout=BUILD_TIMEOUT_S,
    )
    report(f"pgBackRest image {tag}: built in {time.monotonic() - started:.1f} s")
    yield tag
    docker_cmd("image", "rm", "--force", tag, check=False)


def wait_until(condition: Callable[[], bool], what: str, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {WAIT_S} s:\n{logs()[-4000:]}")
        time.sleep(1)


@dataclass
class Deployment:
    prefix: str
    secrets_dir: Path
    passphrase: str

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def mounts(self) -> list[str]:
        return [
            "--network",
            self.name("net"),
            "--volume",
            f"{self.name('data')}:/var/lib/postgresql/data",
            "--volume",
            f"{self.name('repo')}:/var/lib/pgbackrest",
            # The sidecar reaches the server through its socket, as pgBackRest expects.
            "--volume",
            f"{self.name('run')}:/var/run/postgresql",
            "--volume",
            f"{self.secrets_dir}:/run/secrets:ro",
            "--env",
            "PGBACKREST_REPO1_CIPHER_PASS_FILE=/run/secrets/pgbackrest_cipher_pass",
            "--env",
            "PGBACKREST_PG1_USER=signupflow",
        ]

    def exec(self, container: str, *command: str) -> str:
        return docker_cmd("exec", self.name(container), *command, timeout=WAIT_S).stdout

    def sql(self, query: str) -> str:
        return self.exec(
            "db", "psql", "--no-psqlrc", "-U", "signupflow", "-d", "signupflow", "-Atc", query
        ).strip()

    def logs(self) -> str:
        output = []
        for container in ("db", "pitr"):
            done = docker_cmd("logs", self.name(container), check=False)
            output.append(f"--- {container}\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        return "\n".join(output)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    prefix = f"sf-pgbr-{uuid.uuid4().hex[:8]}"
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    passphrase = secrets.token_urlsafe(32)
    for name, value in (
        ("pgbackrest_cipher_pass", passphrase),
        ("postgres_password", secrets.token_urlsafe(16)),
    ):
        path = secrets_dir / name
        path.write_text(value + "\n")
        path.chmod(0o600)
        if os.geteuid() == 0:
            os.chown(path, POSTGRES_UID, POSTGRES_UID)  # as create_secrets.py does
    secrets_dir.chmod(0o755)
    deployment = Deployment(prefix, secrets_dir, passphrase)
    docker_cmd("network", "create", "--label", "org.signupflow.test", deployment.name("net"))
    try:
        yield deployment
    finally:
        for container in ("pitr", "db"):
            docker_cmd("rm", "--force", deployment.name(container), check=False, timeout=120)
        for volume in ("data", "repo", "run"):
            docker_cmd("volume", "rm", "--force", deployment.name(volume), check=False)
        docker_cmd("network", "rm", deployment.name("net"), check=False)


def test_the_image_archives_wal_to_an_encrypted_repository_and_the_sidecar_backs_up(
    pgbackrest_image: str, deployment: Deployment
) -> None:
    d = deployment
    docker_cmd(
        "run",
        "--detach",
        "--name",
        d.name("db"),
        "--label",
        "org.signupflow.test",
        *d.mounts(),
        "--env",
        "POSTGRES_USER=signupflow",
        "--env",
        "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password",
        pgbackrest_image,
    )
    wait_until(
        lambda: (
            docker_cmd(
                "inspect", "--format", "{{.State.Health.Status}}", d.name("db")
            ).stdout.strip()
            == "healthy"
        ),
        "healthy database",
        d.logs,
    )
    # The archiving settings come from deploy/pgbackrest/postgresql.archiving.conf.
    assert d.sql("SHOW archive_mode") == "on"
    assert d.sql("SHOW archive_command") == f"pgbackrest --stanza={STANZA} archive-push %p"
    assert d.sql("SHOW archive_timeout") == "30s"

    docker_cmd(
        "run",
        "--detach",
        "--name",
        d.name("pitr"),
        "--label",
        "org.signupflow.test",
        *d.mounts(),
        "--env",
        "PITR_METRICS_INTERVAL_S=2",
        "--env",
        "PITR_INTERVAL_S=3600",
        pgbackrest_image,
        "pgbackrest-scheduler",
    )

    def info() -> list[dict[str, object]]:
        done = docker_cmd(
            "exec",
            d.name("db"),
            "pgbackrest",
            f"--stanza={STANZA}",
            "--output=json",
            "info",
            check=False,
        )
        return json.loads(done.stdout) if done.returncode == 0 and done.stdout else []

    # The sidecar made the stanza and, finding no backup, took a full one at once.
    wait_until(lambda: bool(info() and info()[0].get("backup")), "first full backup", d.logs)
    stanza = info()[0]
    backups = stanza["backup"]
    assert isinstance(backups, list)
    assert [b["type"] for b in backups] == ["full"]
    assert stanza["cipher"] == "aes-256-cbc"
    status = stanza["status"]
    assert isinstance(status, dict)
    assert (status["code"], status["message"]) == (0, "ok")

    d.sql("CREATE TABLE pitr_probe (id int PRIMARY KEY, note text)")
    d.sql("INSERT INTO pitr_probe VALUES (1, 'archived')")
    wal = d.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
    d.sql("SELECT pg_switch_wal()")
    wait_until(
        lambda: d.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= wal,
        f"WAL {wal} archived",
        d.logs,
    )
    assert d.sql("SELECT failed_count FROM pg_stat_archiver") == "0"
    # `check` switches WAL again and waits until that segment is in the repository.
    d.exec("db", "pgbackrest", f"--stanza={STANZA}", "check")
    archive = info()[0]["archive"]
    assert isinstance(archive, list)
    assert archive[0]["max"] >= wal

    def metrics() -> str:
        return d.exec(
            "pitr",
            "python3",
            "-c",
            "import urllib.request; print(urllib.request.urlopen("
            "'http://127.0.0.1:9109/metrics', timeout=5).read().decode())",
        )

    wait_until(
        lambda: f'pgbackrest_backups{{stanza="{STANZA}",type="full"}} 1' in metrics(),
        "backup metrics from the sidecar",
        d.logs,
    )
    scraped = metrics()
    assert f'pgbackrest_info_up{{stanza="{STANZA}"}} 1' in scraped
    assert "pg_archiver_up 1" in scraped
    archived_at = float(
        scraped.split("\npg_archiver_last_archived_timestamp_seconds ")[1].split()[0]
    )
    assert time.time() - WAIT_S < archived_at <= time.time() + 5

    # The passphrase is in the repository's secrets.conf only: not in the image, the
    # containers' configuration, or their logs.
    for container in ("db", "pitr"):
        inspected = docker_cmd("inspect", d.name(container)).stdout
        assert d.passphrase not in inspected
    assert d.passphrase not in d.logs()
    assert d.passphrase not in docker_cmd("image", "inspect", pgbackrest_image).stdout
    assert d.passphrase not in d.exec("db", "env")
