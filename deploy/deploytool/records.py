"""What the tool knows about past and present deploys, all under the state directory:

- history.jsonl  one line per finished deployment (result, times, step durations);
- state.json     the current and the previous release (what `rollback` goes back to);
- journal.jsonl  every step of every deployment as it completes, appended and flushed to disk
                 before the next step starts, so a deploy that stops half-way (killed, a
                 reboot) is found and finished or undone by the next command (`recover`).

Each write is durable before the tool goes on: appended lines are fsynced, state.json is
replaced atomically (envfile.write_durably).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .envfile import write_durably
from .runner import now_iso


@dataclass
class Deployment:
    id: str
    kind: str  # deploy | rollback
    image: str
    release: str = ""
    image_id: str = ""
    previous: dict[str, str] | None = None
    started_at: str = field(default_factory=now_iso)
    finished_at: str = ""
    result: str = "running"  # succeeded | rolled_back | failed | aborted
    error: str = ""
    holder: str = ""
    durations: dict[str, float] = field(default_factory=dict)
    # Set when the deployment was interrupted and finished by a later command: what it did.
    recovery: str = ""


@dataclass
class Unfinished:
    """A deployment whose journal has no `end`: its `begin` entry and the steps completed."""

    id: str
    begin: dict[str, Any]
    steps: list[str]

    @property
    def last(self) -> str:
        return self.steps[-1] if self.steps else "begin"


def _append_durably(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        # A line cut short by a crash is skipped, not fatal: the steps before it still count.
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                yield entry


class Records:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.history = state_dir / "history.jsonl"
        self.state = state_dir / "state.json"
        self.journal = state_dir / "journal.jsonl"

    def append(self, deployment: Deployment) -> None:
        _append_durably(self.history, json.dumps(asdict(deployment), sort_keys=True))

    def entries(self) -> list[dict[str, Any]]:
        return list(_lines(self.history))

    def load_state(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.state.read_text())
            return loaded if isinstance(loaded, dict) else {}
        except (FileNotFoundError, ValueError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_durably(self.state, json.dumps(state, indent=2, sort_keys=True) + "\n")

    # --- the journal -----------------------------------------------------------------------

    def journal_step(self, deployment_id: str, step: str, **data: Any) -> None:
        entry = {"deployment": deployment_id, "step": step, "at": now_iso(), **data}
        _append_durably(self.journal, json.dumps(entry, sort_keys=True))

    def begun(self, deployment_id: str) -> dict[str, Any]:
        """The `begin` entry of a deployment."""
        for entry in _lines(self.journal):
            if entry.get("deployment") == deployment_id and entry.get("step") == "begin":
                return entry
        return {}

    def unfinished(self) -> Unfinished | None:
        """The last deployment, if its journal has a `begin` and no `end`."""
        last: Unfinished | None = None
        for entry in _lines(self.journal):
            step, deployment_id = entry.get("step"), str(entry.get("deployment", ""))
            if step == "begin":
                last = Unfinished(deployment_id, entry, [])
            elif last is not None and deployment_id == last.id:
                if step == "end":
                    last = None
                else:
                    last.steps.append(str(step))
        return last
