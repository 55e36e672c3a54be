"""What the `postgres` user is given to run: copies it can read, wherever the checkout is."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.postgres import as_postgres
from harness.repository import readable_copy

SCRIPT = "print('read by', __import__('getpass').getuser())\n"


@pytest.fixture
def private_checkout(tmp_path: Path) -> Path:
    """A file inside a 0700 directory, as in a clone under root's home."""
    checkout = tmp_path / "private" / "clone"
    checkout.mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)
    script = checkout / "script.py"
    script.write_text(SCRIPT)
    script.chmod(0o644)
    return script


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="sf-shared-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def run_as_postgres(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*as_postgres(), "/usr/bin/python3", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
    )


def test_the_copy_is_world_readable_in_a_world_readable_directory(
    private_checkout: Path, shared_dir: Path
) -> None:
    copy = readable_copy(private_checkout, shared_dir / "bin")

    assert copy.read_text() == SCRIPT
    assert stat.S_IMODE(copy.stat().st_mode) == 0o644
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a command as the postgres user: needs root")
def test_the_postgres_user_runs_the_copy_of_a_file_it_cannot_read_in_the_checkout(
    private_checkout: Path, shared_dir: Path
) -> None:
    shared_dir.chmod(0o755)
    in_place = run_as_postgres(private_checkout)
    assert in_place.returncode == 2, in_place.stderr  # "can't open file": the defect it avoids
    assert "Permission denied" in in_place.stderr

    copied = run_as_postgres(readable_copy(private_checkout, shared_dir / "bin"))

    assert copied.returncode == 0, copied.stderr
    assert copied.stdout == "read by postgres\n"
