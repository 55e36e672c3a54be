"""Helpers of the log store's tests: the command run as an operator runs it, and a past
hour compressed as the store compresses it (harness/logstore.py has the rest)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from harness.logstore import SCRIPT


def compress(path: Path) -> Path:
    """<service>.log -> <service>.log.zst, as the store compresses a past hour."""
    packed = path.with_name(path.name + ".zst")
    command = ["zstd", "-q", "--rm", "-o", str(packed), str(path)]
    subprocess.run(command, check=True, timeout=60)
    return packed


def run(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`signupflow-logs ARGS` (its exit code and messages), with `env` added to this
    process's environment."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )
