"""The image's dependency locks (deploy/docker/*.lock): the committed ones match pyproject.toml,
every pin carries hashes, and `make lock-check` fails on a copy of pyproject.toml whose
dependencies changed without `make lock`. Offline and without Docker."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.repository import REPO

LOCK_DIR = REPO / "deploy" / "docker"
LOCK_TOOL = LOCK_DIR / "locks.py"
LOCK_FILES = ("requirements.lock", "requirements-solver.lock", "build-tools.lock")


def run_check(pyproject: Path, lock_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LOCK_TOOL), "check", "--pyproject", str(pyproject),
         "--lock-dir", str(lock_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of pyproject.toml and the committed locks, to change one at a time."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for name in LOCK_FILES:
        shutil.copy(LOCK_DIR / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_committed_locks_match_pyproject() -> None:
    result = run_check(REPO / "pyproject.toml", LOCK_DIR)
    assert result.returncode == 0, result.stderr
    assert "3 locks match" in result.stdout


def test_adding_a_runtime_dependency_without_relocking_fails_the_check(checkout: Path) -> None:
    edit(
        checkout / "pyproject.toml",
        '    "tzdata>=2024.1",\n',
        '    "tzdata>=2024.1",\n    "rich>=13",\n',
    )
    result = run_check(checkout / "pyproject.toml", checkout)
    assert result.returncode == 1
    stale = re.findall(r"(\S+\.lock) is stale", result.stderr)
    assert sorted(Path(p).name for p in stale) == ["requirements-solver.lock", "requirements.lock"]
    assert "make lock" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "lock"),
    [
        # the solver extra: only the worker's lock
        ('"ortools>=9.10"', '"ortools>=9.12"', "requirements-solver.lock"),
        # the image-build group: only the build tools' lock
        ('"cyclonedx-bom>=7.5"', '"cyclonedx-bom>=7.6"', "build-tools.lock"),
    ],
    ids=["solver-extra", "image-build-tools"],
)
def test_changing_one_input_makes_only_its_lock_stale(
    checkout: Path, old: str, new: str, lock: str
) -> None:
    edit(checkout / "pyproject.toml", old, new)
    result = run_check(checkout / "pyproject.toml", checkout)
    assert result.returncode == 1
    stale = re.findall(r"(\S+\.lock) is stale", result.stderr)
    assert [Path(p).name for p in stale] == [lock]


def test_raising_requires_python_makes_every_lock_stale(checkout: Path) -> None:
    edit(checkout / "pyproject.toml", 'requires-python = ">=3.11"', 'requires-python = ">=3.12"')
    result = run_check(checkout / "pyproject.toml", checkout)
    assert result.returncode == 1
    assert len(re.findall(r"is stale", result.stderr)) == len(LOCK_FILES)


def test_reordering_and_respelling_dependencies_keeps_the_locks_current(checkout: Path) -> None:
    pyproject = checkout / "pyproject.toml"
    edit(pyproject, '    "fastapi>=0.121",\n', "")
    edit(pyproject, '    "tzdata>=2024.1",\n', '    "tzdata>=2024.1",\n    "FastAPI >= 0.121",\n')
    edit(pyproject, '"pytest>=8",', '"pytest>=8", "rich>=13",')  # dev tools are not in the image
    result = run_check(pyproject, checkout)
    assert result.returncode == 0, result.stderr


def test_web_and_worker_locks_pinning_a_shared_package_differently_fail_the_check(
    checkout: Path,
) -> None:
    web = checkout / "requirements.lock"
    pinned = re.search(r"^alembic==(\S+) \\$", web.read_text(), re.MULTILINE)
    assert pinned is not None
    edit(web, f"alembic=={pinned.group(1)} \\", "alembic==1.13.0 \\")
    result = run_check(checkout / "pyproject.toml", checkout)
    assert result.returncode == 1
    assert "requirements.lock pins alembic==1.13.0 but requirements-solver.lock does not" in (
        result.stderr
    )


def test_a_build_backend_missing_from_the_build_tools_lock_fails_the_check(
    checkout: Path,
) -> None:
    edit(checkout / "pyproject.toml", 'requires = ["setuptools>=69"]', 'requires = ["hatchling"]')
    result = run_check(checkout / "pyproject.toml", checkout)
    assert result.returncode == 1
    assert "'hatchling' is not in build-tools.lock" in result.stderr


def test_a_missing_lock_fails_the_check(checkout: Path) -> None:
    (checkout / "build-tools.lock").unlink()
    result = run_check(checkout / "pyproject.toml", checkout)
    assert result.returncode == 1
    assert "build-tools.lock is missing" in result.stderr


@pytest.mark.parametrize("name", LOCK_FILES)
def test_every_locked_package_is_pinned_with_sha256_hashes(name: str) -> None:
    # One entry: "name==version [; marker] \" then its "--hash=sha256:..." lines.
    entries = re.split(r"\n(?=[A-Za-z0-9])", (LOCK_DIR / name).read_text())
    packages = [entry for entry in entries if not entry.startswith("#")]
    assert len(packages) > 10
    for entry in packages:
        assert re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S+", entry), entry.splitlines()[0]
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry.splitlines()[0]
