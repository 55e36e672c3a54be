"""The checkout this code runs from: its root, git asked about it, readable copies of its
files for commands run as another user, and its stand-alone scripts loaded as modules."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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


def script_module(path: Path, name: str | None = None) -> ModuleType:
    """A script that is no package module (deploy/..., an image's command) loaded as module
    `name` (its file's stem by default), for tests to call its functions."""
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while a class is made
    spec.loader.exec_module(module)
    return module
