"""The generic cell rate algorithm: a rolling rate limit kept as one timestamp per key.

A budget of `limit` per window lets a burst of `limit` through at once and then one more
every `window / limit` (a token bucket). Counting in fixed windows instead lets a second full
burst through right after the first whenever a window boundary falls between them, and tells
a refused client to wait for the boundary; here a refusal knows exactly when to come back.
Times are whole milliseconds so that the arithmetic is exact here and in the Redis script.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    limit: int
    window_ms: int = 60_000

    @property
    def interval_ms(self) -> int:
        return max(1, round(self.window_ms / self.limit))


def admit(tat_ms: int, now_ms: int, budget: Budget) -> tuple[int, int]:
    """Given the key's theoretical arrival time, return (milliseconds to wait, new tat).
    A wait of 0 means the request is admitted and the new tat must be stored."""
    tat_ms = max(tat_ms, now_ms)
    wait_ms = tat_ms + budget.interval_ms - budget.window_ms - now_ms
    if wait_ms > 0:
        return wait_ms, tat_ms
    return 0, tat_ms + budget.interval_ms
