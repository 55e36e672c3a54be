"""What one invocation of the tool works on: the Compose project, its files, the state
directory and the timing limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Settings:
    project: str
    files: list[Path]
    env_file: Path | None
    release_env: Path  # the env file Compose reads: the release is recorded there
    state_dir: Path
    service: str
    edge_service: str
    migrate_service: str
    lock_ttl: float
    lock_wait: float
    ready_timeout: float
    verify_url: str | None
    verify_connect: str | None
    verify_cacert: Path | None
    verify_timeout: float
    # After the cut-over (observe.py): how long, and the thresholds that undo the deploy.
    watch_window: float = 60.0
    watch_max_error_rate: float = 0.05
    watch_max_p99: float = 2.0
