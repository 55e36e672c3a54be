"""Fixed-window rate limits counted in the shared store, so they hold across instances."""

from __future__ import annotations

import hashlib
import logging
import time

from signupflow.errors import RateLimited
from signupflow.state.store import SharedStore, SharedStoreError

log = logging.getLogger(__name__)
WINDOW_S = 60


def enforce(store: SharedStore, key: str, *, per_minute: int) -> None:
    """Raise RateLimited when `key` went over its budget in this minute. When the store is
    unreachable the request is let through (availability first) and the outage is logged;
    /health reports the store as unhealthy meanwhile."""
    try:
        count = store.hit(f"rl:{key}", WINDOW_S)
    except SharedStoreError:
        log.warning("rate limit not enforced: shared store unreachable")
        return
    if count > per_minute:
        retry_after = WINDOW_S - int(time.time()) % WINDOW_S
        raise RateLimited(f"too many requests; retry in {retry_after} s", retry_after=retry_after)


def subject(*parts: str) -> str:
    """A stable key that carries no personal data (e-mail addresses are hashed)."""
    return hashlib.sha256("\x1f".join(parts).lower().encode()).hexdigest()[:32]
