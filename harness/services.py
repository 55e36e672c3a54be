"""What a run needs from the machine and may not find."""

from __future__ import annotations


class ServiceMissing(RuntimeError):
    """A program or service this run needs is not installed or not reachable; the message
    says which and how to get it. The test suite skips on it outside CI and fails on it in CI
    (tests/conftest.py); a benchmark stops with it."""
