"""The previous release, for the N-1 test (docs/migrations.md): the code a rolling deploy still
runs while the newest migration is applied.

Defined once, here: on the first-parent history of HEAD, the commit that added the newest
migration file (a merge commit when it arrived with a merged branch), then that commit's first
parent. While the newest migration is not committed yet, HEAD itself is the previous release.
It needs the checkout's git history: a shallow clone without it is an error, never a guess."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from signupflow.db.migrate import alembic_config

REPO = Path(__file__).resolve().parents[2]


class PreviousReleaseUnavailable(Exception):
    """No git, or not enough history to name the previous release."""


@dataclass(frozen=True)
class PreviousRelease:
    commit: str
    newest_migration: str  # its path in the repository
    src: Path  # the release's src/, extracted (its web/ beside it)


def _git(repo: Path, *args: str) -> str:
    if shutil.which("git") is None:
        raise PreviousReleaseUnavailable("git is not installed")
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise PreviousReleaseUnavailable(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def newest_migration() -> str:
    """The head revision's file, relative to the repository."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_revision(script.get_current_head())
    assert head is not None
    assert head.path is not None
    return Path(head.path).resolve().relative_to(REPO).as_posix()


def previous_release_commit(repo: Path = REPO, newest: str | None = None) -> tuple[str, str]:
    """(the previous release's commit, the newest migration's path)."""
    if _git(repo, "rev-parse", "--is-shallow-repository") == "true":
        raise PreviousReleaseUnavailable(
            "the checkout is shallow: fetch the whole history (git fetch --unshallow; in GitHub "
            "Actions, actions/checkout with fetch-depth: 0)"
        )
    path = newest or newest_migration()
    if not _git(repo, "ls-tree", "--name-only", "HEAD", "--", path):
        return _git(repo, "rev-parse", "HEAD"), path
    added = _git(
        repo, "log", "--first-parent", "-m", "--diff-filter=A", "--format=%H", "-1", "--", path
    )
    if not added:
        raise PreviousReleaseUnavailable(f"no commit on the first-parent history adds {path}")
    return _git(repo, "rev-parse", f"{added}^1"), path


def extract_previous_release(target: Path) -> PreviousRelease:
    commit, path = previous_release_commit()
    if shutil.which("git") is None:
        raise PreviousReleaseUnavailable("git is not installed")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "src", "web"],
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return PreviousRelease(commit=commit, newest_migration=path, src=target / "src")
