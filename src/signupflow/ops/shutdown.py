"""Drain state shared by the server (which sets it on SIGTERM) and the app (which reports
not-ready and closes keep-alive connections while it is set). One per process."""

from __future__ import annotations

import threading
import time


class DrainState:
    def __init__(self) -> None:
        self._since: float | None = None
        self._lock = threading.Lock()

    def begin(self) -> bool:
        """Start draining; False when it had already started."""
        with self._lock:
            if self._since is not None:
                return False
            self._since = time.monotonic()
            return True

    @property
    def draining(self) -> bool:
        return self._since is not None

    def reset(self) -> None:
        with self._lock:
            self._since = None


DRAIN = DrainState()
