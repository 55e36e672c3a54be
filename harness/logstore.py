"""The log store's command (deploy/images/logstore/signupflow_logs.py, a standard-library
script the logstore image runs) loaded as a module, and lines written the way the store's
rsyslog.conf writes them: for its tests and `make bench-logs`."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from harness.repository import REPO, script_module

SCRIPT = REPO / "deploy" / "images" / "logstore" / "signupflow_logs.py"
RSYSLOG_CONF = SCRIPT.parent / "rsyslog.conf"


def load_script() -> ModuleType:
    return script_module(SCRIPT)


def rsyslog_json(value: object) -> str:
    """JSON with rsyslog's spacing (`{ "a": 1, "b": [ "c" ] }`), as the store writes it."""
    text = json.dumps(value, separators=(", ", ": "))
    return text.replace("{", "{ ").replace("}", " }")


def stored_line(time: str, service: str = "app", *, replica: str = "1", **fields: object) -> str:
    """One stored line of `service` with the app's JSON `fields`."""
    return rsyslog_json(
        {
            "time": time,
            "service": service,
            "replica": replica,
            "container": "0123456789ab",
            "stream": "stdout",
            "fields": fields,
        }
    )


def write_hour(root: Path, hour: str, service: str, lines: list[str]) -> Path:
    """Append to <root>/<day>/<hour>/<service>.log, for `hour` like 2026-12-01T10."""
    day, _, hh = hour.partition("T")
    path = root / day / hh / f"{service}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as stream:
        stream.writelines(line + "\n" for line in lines)
    return path
