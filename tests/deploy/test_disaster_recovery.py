"""The disaster recovery drill of docs/disaster-recovery.md on a real Docker engine.

A stack whose pgBackRest repository 1 lives on an S3-compatible server (moto over HTTPS: the
off-site storage, which survives) takes a backup while writes go on; then the host is lost:
every container killed, every volume and the host's state directory (secrets, .env, deploy
state) deleted. The commands of the document's rebuild block, run as written in a fresh
checkout with the off-site copy (secrets and .env), bring the stack back, and every
acknowledged write up to the last archived WAL is there, in order, none invented. The drill
prints its duration and the data-loss window.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from harness.compose import PEBBLE, PGBACKREST, PROD, compose_binary, run_compose
from harness.docker import DOCKER, docker_cmd
from harness.pitr import S3_OVERLAY, S3Store, pgbackrest_image, s3_key_secrets, s3_store
from harness.repository import REPO
from harness.stack import ProductionStack, ReleaseImages, production_stack
from tests.deploy.containers import report
from tests.support.services import require_service

DOC = REPO / "docs" / "disaster-recovery.md"
REBUILD_BLOCK = re.compile(r"<!-- rebuild:begin -->\s*```sh\n(.*?)```\s*<!-- rebuild:end -->", re.S)
WRITE_FOR_S = 40  # longer than archive_timeout (30 s): at least one segment is archived
REBUILD_TIMEOUT_S = 900
# The documented goal for a lost host (deploy/pgbackrest/README.md): archive_timeout plus
# the time archive-push takes.
LOSS_WINDOW_LIMIT_S = 60


def rebuild_commands(text: str) -> list[str]:
    """The rebuild block's command lines (the drill runs exactly these)."""
    found = REBUILD_BLOCK.search(text)
    assert found, f"{DOC.name} has no rebuild block"
    return [line for line in found.group(1).splitlines() if line.strip()]


def test_the_rebuild_block_is_found_and_a_missing_one_is_an_error() -> None:
    commands = rebuild_commands(DOC.read_text())
    assert any("deploy.py restore" in c for c in commands), commands
    with pytest.raises(AssertionError, match="no rebuild block"):
        rebuild_commands("# Disaster recovery\n```sh\npython3 deploy/deploy.py restore\n```\n")


@pytest.fixture(scope="module")
def store(base_images: dict[str, str]) -> Iterator[S3Store]:
    """An off-site object store of the drill's own (the operated stack's holds its stanza)."""
    with s3_store(base_images["python"]) as found:
        yield found


def lose_the_host(stack: ProductionStack) -> None:
    """Every container killed (no clean shutdown, no last WAL switch), then every volume and
    network of the project and the host's state directory deleted."""
    ids = docker_cmd(
        "ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={stack.project}"
    ).stdout.split()  # fmt: skip
    docker_cmd("kill", *ids, check=False)
    stack.stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "0", timeout=180)
    left = docker_cmd(
        "volume", "ls", "--quiet", "--filter", f"label=com.docker.compose.project={stack.project}"
    ).stdout.split()  # fmt: skip
    assert not left, left
    shutil.rmtree(stack.workdir)


def offsite_copy(stack: ProductionStack, offsite: Path, files: list[Path]) -> None:
    """What docs/disaster-recovery.md says to keep off the host: the secrets directory and
    the .env (as an operator's: project name, stack files, secrets beside it)."""
    subprocess.run(
        ["tar", "-C", str(stack.workdir), "-cpf", str(offsite / "secrets.tar"), "secrets"],
        check=True,
        timeout=60,
    )
    settings = {**stack.env_values(), "SECRETS_DIR": "./secrets"}
    # The test's Pebble root was a file in the lost host's state: the new host's certificate
    # probes trust its own bundle, the default (an operator's .env names no such file).
    del settings["CERT_PROBE_CA_FILE"]
    settings["COMPOSE_PROJECT_NAME"] = stack.project
    settings["COMPOSE_FILE"] = ":".join(str(p) for p in files)
    (offsite / "env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))


def test_the_stack_is_rebuilt_on_a_new_host_from_off_site_copies(
    images: ReleaseImages, base_images: dict[str, str], store: S3Store, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        require_service("the drill needs root (secrets owned by the container users)")
    commands = rebuild_commands(DOC.read_text())
    env = {"PGBACKREST_POSTGRES_IMAGE": pgbackrest_image(base_images["postgres"])}
    env |= store.stack_env()
    offsite = tmp_path / "offsite"
    new_host = tmp_path / "new-host"
    files = [
        Path("compose.prod.yml"),
        Path("compose.pebble.yml"),
        Path("compose.pgbackrest.yml"),
        S3_OVERLAY,
    ]
    assert [PROD.name, PEBBLE.name, PGBACKREST.name] == [str(p) for p in files[:3]]
    with production_stack(
        images,
        base_images,
        overlays=(PGBACKREST, S3_OVERLAY),
        extra_env=env,
        extra_secrets=s3_key_secrets(),
    ) as stack:
        project = stack.project
        stack.psql("CREATE TABLE dr_probe (id integer PRIMARY KEY, at timestamptz NOT NULL)")
        backup = stack.run_deploy("backup", timeout=600)
        assert backup.returncode == 0, backup.stdout + backup.stderr
        acknowledged: list[tuple[int, datetime]] = []
        started = time.monotonic()
        while time.monotonic() - started < WRITE_FOR_S:
            written = stack.psql(
                "INSERT INTO dr_probe SELECT coalesce(max(id), 0) + 1, clock_timestamp() "
                "FROM dr_probe RETURNING id, at",
            )
            row, _, at = written.partition("|")
            acknowledged.append((int(row), datetime.fromisoformat(at)))
            time.sleep(0.2)
        offsite.mkdir()
        offsite_copy(stack, offsite, files)
        lost_at = time.monotonic()
        lose_the_host(stack)

        # The new host: a fresh checkout, nothing of the old one but the off-site copy.
        shutil.copytree(
            REPO / "deploy", new_host / "deploy", ignore=shutil.ignore_patterns("__pycache__")
        )
        shell_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")},
            "OFFSITE": str(offsite),
            "DOCKER": str(DOCKER),
            "DEPLOY_STATE_DIR": str(new_host / "state"),
            "PATH": f"{Path(compose_binary()).parent}:{os.environ['PATH']}",
        }
        rebuild_started = time.monotonic()
        try:
            for command in commands:
                done = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", command],
                    cwd=new_host,
                    env=shell_env,
                    capture_output=True,
                    text=True,
                    timeout=REBUILD_TIMEOUT_S,
                    check=False,
                )
                assert done.returncode == 0, (
                    f"`{command}`: {done.stdout[-4000:]}{done.stderr[-3000:]}"
                )
            rebuild_s = time.monotonic() - rebuild_started
            compose_files = [new_host / "deploy" / "compose" / p for p in files]
            env_file = new_host / "deploy" / "compose" / ".env"
            restored = run_compose(
                compose_files, "exec", "-T", "postgres", "psql", "--username=signupflow",
                "--dbname=signupflow", "-AtF", " ", "-c", "SELECT id, at FROM dr_probe ORDER BY id",
                env={}, env_file=env_file, project=project,
            ).stdout.split("\n")  # fmt: skip
            rows = [line.split(" ", 1) for line in restored if line.strip()]
            ids = [int(row[0]) for row in rows]
            # A prefix of what was acknowledged: in order, no gap, nothing invented.
            assert ids == list(range(1, len(ids) + 1)), ids
            assert len(ids) <= len(acknowledged)
            assert ids, "no write after the backup came back"
            latest = datetime.fromisoformat(rows[-1][1])
            assert latest == acknowledged[len(ids) - 1][1]
            window = (acknowledged[-1][1] - latest).total_seconds()
            assert window < LOSS_WINDOW_LIMIT_S, f"lost the last {window:.1f} s of writes"
            replicas = docker_cmd(
                "ps", "--quiet", "--filter", f"label=com.docker.compose.project={project}",
                "--filter", "label=com.docker.compose.service=app", "--filter", "health=healthy",
            ).stdout.split()  # fmt: skip
            assert len(replicas) == 2, replicas
            message = (
                f"disaster recovery drill: rebuilt in {rebuild_s:.1f} s "
                f"({time.monotonic() - lost_at:.1f} s after the loss, commands from "
                f"{DOC.name}); {len(ids)} of {len(acknowledged)} acknowledged writes back; "
                f"data-loss window {window:.1f} s (last acknowledged write minus the latest "
                "restored one)"
            )
            print(message, file=sys.stderr)
            report(message)
        finally:
            run_compose(
                [new_host / "deploy" / "compose" / p for p in files],
                "down", "--volumes", "--remove-orphans", "--timeout", "10",
                env={}, env_file=new_host / "deploy" / "compose" / ".env", project=project,
                timeout=180, check=False,
            )  # fmt: skip
