"""Point-in-time recovery in the production stack, on a real Docker engine: pgBackRest
(compose.pgbackrest.yml) archives to repository 1 on an S3-compatible store (moto over
HTTPS, its own test CA, path-style URIs), and `deploy.py backup` / `deploy.py restore` are
the one command each an operator runs.

The scenario: rows written, a backup, more rows, the time noted, more rows, and a restore to
that time brings back exactly the rows before it; meanwhile the edge answers every request
with 503 and Retry-After, and afterwards the app serves (a sign-up writes). Bad input (a
target that is no time, has no zone, lies in the future or before every backup; no --yes;
the lock held by a deploy) is refused before anything is touched.
"""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest
from deploy.deploytool.lock import DeployLock

from harness.pitr import S3Store
from harness.stack import (
    Load,
    ProductionStack,
    wait_until,
)
from tests.deploy.containers import report

RESTORE_TIMEOUT_S = 600
EXIT_USAGE, EXIT_LOCKED = 2, 3


def insert(stack: ProductionStack, first: int, last: int) -> None:
    stack.psql(f"INSERT INTO pitr_probe SELECT generate_series({first}, {last})")


def restore(stack: ProductionStack, *args: str) -> subprocess.CompletedProcess[str]:
    return stack.run_deploy("restore", *args, timeout=RESTORE_TIMEOUT_S)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"


def test_a_backup_lands_encrypted_in_the_s3_repository(
    stack: ProductionStack, store: S3Store
) -> None:
    started = time.monotonic()
    result = stack.run_deploy("backup", timeout=RESTORE_TIMEOUT_S)
    assert result.returncode == 0, output(result)
    assert "full backup" in result.stdout
    keys = store.keys()
    assert any(k.startswith("signupflow/backup/signupflow/") for k in keys), keys[:20]
    assert any(k.startswith("signupflow/archive/signupflow/") for k in keys), keys[:20]
    info = stack.stack.compose(
        "exec", "-T", "pgbackrest", "pgbackrest", "--stanza=signupflow", "info"
    ).stdout
    assert "cipher: aes-256-cbc" in info, info
    report(f"pitr: full backup to S3 through deploy.py in {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("yesterday", "is not a time"),
        ("2026-11-25 14:19:58", "has no time zone"),
        ("2999-01-01 00:00:00+00", "is in the future"),
        ("2001-01-01 00:00:00+00", "no backup ended before"),
    ],
)
def test_restore_refuses_a_bad_target_and_touches_nothing(
    stack: ProductionStack, target: str, message: str
) -> None:
    result = restore(stack, "--target", target, "--yes")
    assert result.returncode == EXIT_USAGE, output(result)
    assert message in result.stderr, output(result)
    status, _ = stack.get("/health/live")
    assert status == 200


def test_restore_asks_for_confirmation(stack: ProductionStack) -> None:
    result = subprocess.run(
        stack.deploy_command("restore"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=stack.deploy_env(),
    )
    assert result.returncode == EXIT_USAGE, output(result)
    assert "pass --yes" in result.stderr


def test_restore_refuses_while_a_deploy_holds_the_lock(stack: ProductionStack) -> None:
    lock = DeployLock(
        stack.state_dir / stack.project / "deploy.lock", ttl=60, command="deploy signupflow:x"
    )
    lock.acquire(wait=0)
    try:
        result = restore(stack, "--yes")
    finally:
        lock.release()
    assert result.returncode == EXIT_LOCKED, output(result)
    assert "another deploy holds the lock" in result.stderr
    assert "deploy signupflow:x" in result.stderr


def test_restore_to_a_time_brings_back_exactly_the_rows_before_it(
    stack: ProductionStack,
) -> None:
    stack.psql("CREATE TABLE pitr_probe (id integer PRIMARY KEY)")
    insert(stack, 1, 10)
    backup = stack.run_deploy("backup", timeout=RESTORE_TIMEOUT_S)
    assert backup.returncode == 0, output(backup)
    insert(stack, 11, 20)
    time.sleep(1.1)
    target = stack.psql("SELECT clock_timestamp()")
    time.sleep(1.1)
    insert(stack, 21, 30)

    answers: list[tuple[int, str | None]] = []
    done = threading.Event()

    def watch_edge() -> None:
        while not done.is_set():
            try:
                answer = stack.request("/health/live")
                answers.append((answer.status, answer.headers.get("retry-after")))
            except OSError:
                answers.append((0, None))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch_edge)
    watcher.start()
    started = time.monotonic()
    try:
        result = restore(stack, "--target", target, "--yes")
    finally:
        done.set()
        watcher.join(timeout=60)
    seconds = time.monotonic() - started
    assert result.returncode == 0, output(result)

    rows = stack.psql("SELECT array_agg(id ORDER BY id) FROM pitr_probe")
    assert rows == "{" + ",".join(str(i) for i in range(1, 21)) + "}", rows
    maintenance = [a for a in answers if a[0] == 503]
    assert maintenance, f"the edge never answered 503 during the restore: {answers[:20]}"
    assert all(retry_after == "120" for _, retry_after in maintenance), maintenance[:5]
    # Nothing but 503 (or 200 before and after) through the edge while it ran.
    assert {status for status, _ in answers} <= {200, 503}, sorted(set(answers))

    status, _ = stack.get("/health/live")
    assert status == 200
    wait_until(lambda: stack.get("/health/ready")[0] == 200, timeout=60)
    Load(stack).sign_up()  # writes through the app: the restored database takes writes
    assert stack.psql("SELECT pg_is_in_recovery()") == "f"
    report(
        f"pitr: restore to {target} in {seconds:.1f} s "
        f"({len(maintenance)} of {len(answers)} edge answers were 503 meanwhile); "
        + result.stdout.strip().splitlines()[-1]
    )
    assert datetime.fromisoformat(target) < datetime.now(UTC)
