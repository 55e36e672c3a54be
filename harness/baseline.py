"""The code before issue #15 (Fast reads), "the baseline", run beside this checkout's: `make
bench` measures both in the same run, and tests/api/test_read_bodies_unchanged.py compares
their response bodies byte for byte.

The baseline's `src/` and `web/` are taken from the repository's history with `git archive`
and extracted once into a directory under the system temp dir named after the commit; its
server is the same `signupflow serve` of the same interpreter and dependencies with
`PYTHONPATH=<that>/src`. It runs on the schema this checkout migrated to (migrations are
expand/contract, docs/migrations.md), so it never migrates: AUTO_MIGRATE=false.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from harness.app_server import AppServer, running_server
from harness.repository import REPO

BASELINE_COMMIT = "cd4a400057b0c30e732cf30153fc42f790f6aead"
_PATHS = ("src", "web")


class BaselineUnavailable(RuntimeError):
    """The baseline commit cannot be read from this repository."""


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    if shutil.which("git") is None:
        raise BaselineUnavailable("git is not installed: the baseline is read from git history")
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, timeout=120, check=False
    )


def baseline_source(commit: str = BASELINE_COMMIT) -> Path:
    """A directory holding the baseline's `src/` (and `web/`), extracted on first use.

    BaselineUnavailable when the commit is not in the repository (a shallow clone, or a
    history rewritten since): the comparison needs the baseline's own code, never a stand-in."""
    target = Path(tempfile.gettempdir()) / f"signupflow-baseline-{commit}"
    if (target / "src" / "signupflow" / "__init__.py").is_file():
        return target
    if _git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise BaselineUnavailable(
            f"the baseline commit {commit} is not in the repository at {REPO}: fetch the whole "
            "history (git fetch --unshallow; in GitHub Actions, actions/checkout with "
            "fetch-depth: 0)"
        )
    archive = _git("archive", "--format=tar", commit, *_PATHS)
    if archive.returncode != 0:
        raise BaselineUnavailable(f"git archive {commit}: {archive.stderr.decode().strip()}")
    # Extracted beside the target and renamed into place: a concurrent run (another pytest,
    # a benchmark) never sees half a tree, and the first rename wins.
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(staging, filter="data")
        with contextlib.suppress(OSError):
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not (target / "src" / "signupflow" / "__init__.py").is_file():
        raise BaselineUnavailable(f"{target} holds no src/signupflow after extraction")
    return target


@contextlib.contextmanager
def running_baseline_server(
    database_url: str,
    *,
    workdir: Path,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[AppServer]:
    """`harness.app_server.running_server` serving the baseline's code on `database_url`,
    which must already be migrated (by this checkout's code): the baseline does not know
    migrations added since, so it never migrates. Pass the SECRET_KEY of the server or app
    whose tokens it must accept."""
    env = {**(extra_env or {}), "AUTO_MIGRATE": "false"}
    with running_server(
        database_url, workdir=workdir, workers=workers, extra_env=env, source=baseline_source()
    ) as server:
        yield server
