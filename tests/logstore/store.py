"""The log store's command (deploy/images/logstore/signupflow_logs.py, a stdlib script the
image runs) loaded for tests, and stored lines written the way rsyslog.conf writes them."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from harness.repository import REPO

SCRIPT = REPO / "deploy" / "images" / "logstore" / "signupflow_logs.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("signupflow_logs", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up while the class is made.
    sys.modules["signupflow_logs"] = module
    spec.loader.exec_module(module)
    return module


def stored_line(time: str, service: str = "app", *, replica: str = "1", **fields: object) -> str:
    """One line as rsyslog.conf stores it (its JSON spacing included)."""
    line = {
        "time": time,
        "service": service,
        "replica": replica,
        "container": "0123456789ab",
        "stream": "stdout",
        "fields": fields,
    }
    return json.dumps(line, separators=(", ", ": ")).replace("{", "{ ").replace("}", " }")


def write_hour(root: Path, hour: str, service: str, lines: list[str]) -> Path:
    """Append to <root>/<day>/<hour>/<service>.log, for `hour` like 2026-12-01T10."""
    day, _, hh = hour.partition("T")
    path = root / day / hh / f"{service}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as stream:
        stream.writelines(line + "\n" for line in lines)
    return path


def compress(path: Path) -> Path:
    """<service>.log -> <service>.log.zst, as the store compresses a past hour."""
    packed = path.with_name(path.name + ".zst")
    subprocess.run(["zstd", "-q", "--rm", "-o", str(packed), str(path)], check=True, timeout=60)
    return packed


def run(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it (its exit code and messages), with `env` added to
    this process's environment."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )
