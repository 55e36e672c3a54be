"""Child processes a test or benchmark starts, stopped the way a supervisor stops them."""

from __future__ import annotations

import subprocess

KILL_WAIT_S = 10


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout_s`. The exit code of
    the clean stop, or None when it had to be killed."""
    process.terminate()
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=KILL_WAIT_S)
        return None
