"""One deploy at a time per project."""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .runner import DeployError, now_iso, say


class LockHeld(Exception):
    """Another deploy holds the lock; the message names it."""


@dataclass
class LockRecord:
    holder: str
    command: str
    token: str
    acquired_at: str
    expires_at: float  # Unix time

    def describe(self) -> str:
        left = self.expires_at - time.time()
        state = f"expires in {left:.0f} s" if left > 0 else f"expired {-left:.0f} s ago"
        return f"{self.holder}, `{self.command}`, since {self.acquired_at} ({state})"


class DeployLock:
    """A lock file naming its holder, with an expiry the holder keeps pushing forward from a
    heartbeat thread. If the holder dies (even by SIGKILL) the heartbeat stops and the lock
    expires after `ttl` seconds; the next deploy then takes it over. Reading and replacing the
    file happens under flock on a guard file, so two takers never both win."""

    def __init__(self, path: Path, *, ttl: float, command: str) -> None:
        self.path = path
        self.guard = path.with_name(path.name + ".guard")
        self.ttl = ttl
        user = getpass.getuser()
        holder = f"{user}@{socket.gethostname()} pid {os.getpid()}"
        self.mine = LockRecord(holder, command, uuid.uuid4().hex, now_iso(), 0.0)
        self.taken_over: LockRecord | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.guard.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> LockRecord | None:
        try:
            return LockRecord(**json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return LockRecord("unknown (unreadable lock file)", "?", "?", "?", 0.0)

    def _write(self) -> None:
        self.mine.expires_at = time.time() + self.ttl
        partial = self.path.with_name(self.path.name + f".{os.getpid()}")
        partial.write_text(json.dumps(asdict(self.mine)) + "\n")
        partial.replace(self.path)

    def current_holder(self) -> LockRecord | None:
        """The live holder, if any (an expired lock holds nothing)."""
        with self._guarded():
            current = self._read()
        return current if current is not None and current.expires_at > time.time() else None

    def try_acquire(self) -> LockRecord | None:
        """None when acquired; otherwise the record of the live holder."""
        with self._guarded():
            current = self._read()
            if current is not None and current.expires_at > time.time():
                return current
            if current is not None:
                self.taken_over = current
            self._write()
        return None

    def acquire(self, *, wait: float) -> None:
        deadline = time.monotonic() + wait
        announced = False
        while True:
            holder = self.try_acquire()
            if holder is None:
                break
            if time.monotonic() >= deadline:
                raise LockHeld(f"another deploy holds the lock: {holder.describe()}")
            if not announced:
                say(f"waiting up to {wait:.0f} s for the lock: {holder.describe()}")
                announced = True
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        if self.taken_over is not None:
            say(f"took over an expired lock: {self.taken_over.describe()}")
        self._thread = threading.Thread(target=self._heartbeat, name="lock-heartbeat", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        interval = max(0.5, self.ttl / 3)
        while not self._stop.wait(interval):
            with self._guarded():
                current = self._read()
                if current is None or current.token != self.mine.token:
                    self.lost = True
                    return
                self._write()

    def check(self) -> None:
        if self.lost:
            raise DeployError("lost the deploy lock (it expired and another deploy took it)")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._guarded():
            current = self._read()
            if current is not None and current.token == self.mine.token:
                self.path.unlink()
