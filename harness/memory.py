"""Memory of processes the tests and benchmarks start, read from /proc (Linux): a process
tree's resident set, its peak while something runs, and the worker processes of a
`signupflow serve` with several workers."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    """The direct children of `pid` (none if it has exited)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found = [pid]
    for child in children(pid):
        found += descendants(child)
    return found


def status_kib(pid: int, key: str) -> int:
    """A KiB figure of /proc/PID/status (`VmRSS`, `VmHWM`); 0 once the process has exited."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def tree_rss_kib(pid: int) -> int:
    return sum(status_kib(p, "VmRSS") for p in descendants(pid))


def server_workers(pid: int) -> list[int]:
    """The processes of a `signupflow serve` that answer requests: with several workers its
    spawned children (not multiprocessing's resource tracker), with one the server itself."""
    workers = []
    for child in children(pid):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
    return sorted(workers) or [pid]


class RssSampler:
    """The largest resident set of the process and its children, sampled every 5 ms, and the
    kernel's high-water mark of each process (VmHWM), whichever is larger."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = tree_rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        hwm = sum(status_kib(p, "VmHWM") for p in descendants(self.pid))
        self.peak_kib = max(self.peak_kib, hwm)
