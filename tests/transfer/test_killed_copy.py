from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

from sqlalchemy import Engine

from signupflow.db.fingerprint import compare
from signupflow.db.migrate import current_revision, head_revision
from tests.transfer.sources import build_bulk_source
from tests.transfer.support import (
    POSTGRESQL_PASS_ONLY,
    SIGNUPFLOW,
    environment,
    fingerprints_of,
    migrate_sqlite,
    row_counts,
    sqlite_engine,
)

pytestmark = POSTGRESQL_PASS_ONLY

AUDIT_ROWS = 200_000
PROGRESS = re.compile(r"^(?P<table>\w+): (?P<done>\d+)/(?P<total>\d+) rows")


def test_a_copy_killed_halfway_leaves_the_target_empty_and_a_rerun_succeeds(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    source = tmp_path / "big.db"
    build_bulk_source(source, audit_rows=AUDIT_ROWS)
    command = [str(SIGNUPFLOW), "db", "migrate-sqlite", str(source), "--batch-size", "1000"]
    env = environment(TARGET_DATABASE_URL=target_url)

    progress: list[str] = []
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        # Bounded by the process: stderr ends when it exits (and by the suite's timeout).
        for line in process.stderr:
            progress.append(line)
            match = PROGRESS.match(line)
            if match and match["table"] == "audit_log" and 0 < int(match["done"]) < AUDIT_ROWS:
                # Mid-table, inside the one transaction: its first batches are inserted.
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(progress)
    assert "organisations: 1/1 rows done\n" in progress  # earlier tables were already written

    assert current_revision(target) == head_revision()  # the schema step had committed
    assert set(row_counts(target).values()) == {0}

    rerun = migrate_sqlite(str(source), "--batch-size", "1000", "--quiet", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr == ""
    expected = fingerprints_of(sqlite_engine(source))
    assert expected["audit_log"].rows > AUDIT_ROWS  # plus what the app recorded
    assert compare(expected, fingerprints_of(target)) == []
