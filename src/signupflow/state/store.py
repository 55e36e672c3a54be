"""State that instances must share: rate-limit counters and revoked sessions.

Redis in staging and production (required there); an in-process store in development and
tests without Redis. Both have the same small interface, so callers never know which it is.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

# Short timeouts: a missing Redis must degrade a request by milliseconds, not hang it.
REDIS_TIMEOUT_S = 0.5


class SharedStoreError(Exception):
    """The shared store could not be reached."""


class SharedStore(Protocol):
    backend: str

    def hit(self, key: str, window_s: int) -> int:
        """Count one event in the fixed window `key` lives in; return the count so far."""

    def mark(self, key: str, ttl_s: int) -> None:
        """Remember `key` for `ttl_s` seconds."""

    def is_marked(self, key: str) -> bool: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class RedisStore:
    backend = "redis"

    def __init__(self, url: str, *, prefix: str = "signupflow:") -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            health_check_interval=30,
            retry_on_timeout=False,
        )
        self._prefix = prefix

    def hit(self, key: str, window_s: int) -> int:
        window = int(time.time() // window_s)
        name = f"{self._prefix}{key}:{window}"
        try:
            pipe = self._client.pipeline()
            pipe.incr(name)
            pipe.expire(name, window_s + 1)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise SharedStoreError(str(exc)) from exc
        return int(count)

    def mark(self, key: str, ttl_s: int) -> None:
        try:
            self._client.set(f"{self._prefix}{key}", b"1", ex=max(ttl_s, 1))
        except redis.RedisError as exc:
            raise SharedStoreError(str(exc)) from exc

    def is_marked(self, key: str) -> bool:
        try:
            return bool(self._client.exists(f"{self._prefix}{key}"))
        except redis.RedisError as exc:
            raise SharedStoreError(str(exc)) from exc

    def ping(self) -> None:
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise SharedStoreError(str(exc)) from exc

    def close(self) -> None:
        self._client.close()


class MemoryStore:
    """One process only: fine for development, wrong for several instances."""

    backend = "memory"

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int]] = {}
        self._marks: dict[str, float] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window_s: int) -> int:
        now = time.time()
        window = int(now // window_s)
        name = f"{key}:{window}"
        with self._lock:
            self._evict(now)
            _, count = self._counts.get(name, (0.0, 0))
            self._counts[name] = ((window + 1) * window_s, count + 1)
            return count + 1

    def mark(self, key: str, ttl_s: int) -> None:
        with self._lock:
            self._marks[key] = time.time() + ttl_s

    def is_marked(self, key: str) -> bool:
        with self._lock:
            expires = self._marks.get(key)
            return expires is not None and expires > time.time()

    def _evict(self, now: float) -> None:
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
        if len(self._marks) > 10_000:
            self._marks = {k: v for k, v in self._marks.items() if v > now}

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


def make_store(redis_url: str | None) -> SharedStore:
    return RedisStore(redis_url) if redis_url else MemoryStore()
