"""The `.env` file Compose reads: the tool reads the stack's settings from it and records the
release the stack runs in it (APP_IMAGE, APP_RELEASE, WORKER_IMAGE), so that a plain
`docker compose up -d` runs the deployed release instead of going back to an older one."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from .runner import DeployError

# What the tool writes; nothing else in the file is touched.
RELEASE_KEYS = ("APP_IMAGE", "APP_RELEASE", "WORKER_IMAGE")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
# Characters Compose's .env parser reads literally only inside quotes.
_NEEDS_QUOTES = re.compile(r"[\s#'\"$\\]")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as Compose reads them (comments, blank lines, optional quotes)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def check_writable(path: Path) -> None:
    """The release is recorded here: a regular file (or none yet) in a writable directory."""
    if path.exists() and not path.is_file():
        raise DeployError(
            f"{path} is not a regular file: the tool records the running release in the "
            "env file Compose reads (--env-file)"
        )
    if not os.access(path.parent, os.W_OK):
        raise DeployError(f"cannot write {path.parent}: the release is recorded in {path.name}")


def _quoted(value: str) -> str:
    if not value or not _NEEDS_QUOTES.search(value):
        return value
    if "'" not in value:
        return f"'{value}'"  # single quotes: Compose takes the value literally
    raise DeployError(f"cannot write {value!r} to an env file")


def write_durably(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Replace `path` with `text` so that a crash leaves the old file or the new one, never
    half of either: written aside, flushed to disk, renamed, and the rename flushed too."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def set_values(path: Path, values: Mapping[str, str]) -> None:
    """Set KEY=VALUE for each of `values` in the env file, in place of an existing line for
    the key (the first; later duplicates are removed, since Compose would read the last), or
    at the end. Comments, order, other keys and the file's mode stay as they are."""
    lines = path.read_text().splitlines() if path.exists() else []
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    pending = dict(values)
    kept: list[str] = []
    seen: set[str] = set()
    for line in lines:
        match = _ASSIGNMENT.match(line)
        key = match.group(1) if match else None
        if key is not None and key in values:
            if key in seen:
                continue
            seen.add(key)
            kept.append(f"{key}={_quoted(pending.pop(key))}")
        else:
            kept.append(line)
    if pending:
        kept.append("# Recorded by deploy/deploy.py: the release this stack runs.")
        kept += [f"{key}={_quoted(value)}" for key, value in pending.items()]
    write_durably(path, "\n".join(kept) + "\n", mode=mode)
