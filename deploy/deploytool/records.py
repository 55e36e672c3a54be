"""History and state: what was deployed when, what runs now and what ran before."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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


class Records:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.history = state_dir / "history.jsonl"
        self.state = state_dir / "state.json"

    def append(self, deployment: Deployment) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with self.history.open("a") as handle:
            handle.write(json.dumps(asdict(deployment), sort_keys=True) + "\n")

    def entries(self) -> list[dict[str, Any]]:
        if not self.history.exists():
            return []
        found = []
        for line in self.history.read_text().splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
        return found

    def load_state(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.state.read_text())
            return loaded if isinstance(loaded, dict) else {}
        except (FileNotFoundError, ValueError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        partial = self.state.with_name("state.json.new")
        partial.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        partial.replace(self.state)
