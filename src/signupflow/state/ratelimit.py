"""Rate limits kept in the shared store, so they hold across instances."""

from __future__ import annotations

import hashlib
import logging
import math

from signupflow.errors import RateLimited
from signupflow.state.gcra import Budget
from signupflow.state.store import SharedStore, SharedStoreError

log = logging.getLogger(__name__)


def enforce(store: SharedStore, key: str, *, per_minute: int) -> None:
    """Raise RateLimited when `key` has used up its budget: bursts of up to `per_minute`,
    refilled at `per_minute` a minute. When the store is unreachable each instance keeps the
    budget on its own (logged; /health reports the store meanwhile): a Redis outage weakens
    the limits on password guessing by the number of instances, it never lifts them."""
    budget = Budget(per_minute)
    try:
        wait = store.take(f"rl:{key}", budget)
    except SharedStoreError:
        log.warning("rate limit kept per instance: shared store unreachable")
        wait = store.take_locally(f"rl:{key}", budget)
    if wait > 0:
        retry_after = math.ceil(wait / 1_000_000)
        raise RateLimited(
            f"too many requests; retry in {retry_after} s",
            retry_after=retry_after,
            code="request.rate_limited",
            params={"retry_after": retry_after},
        )


def subject(*parts: str) -> str:
    """A stable key that carries no personal data (e-mail addresses are hashed)."""
    return hashlib.sha256("\x1f".join(parts).lower().encode()).hexdigest()[:32]
