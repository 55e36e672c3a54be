"""The checkout this code runs from: its root, git asked about it, and readable copies of its
files for commands run as another user."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()


def readable_copy(source: Path, directory: Path) -> Path:
    """A copy of `source` in `directory` that any user can read, for commands run as another user.

    Such a command must never be handed the checkout in place: a clone inside a private
    directory (mode 0700, as any clone under root's home is) is unreadable to `postgres` or
    any other user whatever the file's own mode. `directory` is made (0755) if it does not
    exist; its parents must let that user through.
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    copy = directory / source.name
    shutil.copyfile(source, copy)
    copy.chmod(0o644)
    return copy
