"""The generic cell rate algorithm: a rolling rate limit kept as one timestamp per key.

A budget of `limit` per window lets a burst of exactly `limit` through at once and then one
more every `window / limit` (a token bucket). Counting in fixed windows instead lets a second
full burst through right after the first whenever a window boundary falls between them, and
tells a refused client to wait for the boundary; here a refusal knows exactly when to come
back. Times are whole microseconds, so the arithmetic is exact here and in the Redis script
(doubles hold integers up to 2**53; today in microseconds is about 2**51), and limits up to
a million a minute keep their rate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    limit: int
    window_us: int = 60_000_000

    @property
    def interval_us(self) -> int:
        return max(1, round(self.window_us / self.limit))

    @property
    def tolerance_us(self) -> int:
        """How far ahead of now the theoretical arrival time may run: `limit - 1` intervals,
        so a burst of exactly `limit` passes."""
        return self.interval_us * (self.limit - 1)


def admit(tat_us: int, now_us: int, budget: Budget) -> tuple[int, int]:
    """Given the key's theoretical arrival time, return (microseconds to wait, new tat).
    A wait of 0 means the request is admitted and the new tat must be stored."""
    tat_us = max(tat_us, now_us)
    wait_us = tat_us - now_us - budget.tolerance_us
    if wait_us > 0:
        return wait_us, tat_us
    return 0, tat_us + budget.interval_us
