"""State that instances must share: rate-limit counters and revoked sessions.

Redis in staging and production (required there); an in-process store in development and
tests without Redis. Both have the same small interface, so callers never know which it is.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

from signupflow.state.gcra import Budget, admit

# Short timeouts: a missing Redis must degrade a request by milliseconds, not hang it.
REDIS_TIMEOUT_S = 0.5


class SharedStoreError(Exception):
    """The shared store could not be reached."""


class SharedStore(Protocol):
    backend: str

    def take(self, key: str, budget: Budget) -> int:
        """Spend one unit of `key`'s budget: 0 when allowed, else microseconds to wait."""

    def take_locally(self, key: str, budget: Budget) -> int:
        """`take` in this process only, for when the shared store cannot be reached."""

    def mark(self, key: str, ttl_s: int) -> None:
        """Remember `key` for `ttl_s` seconds."""

    def is_marked(self, key: str) -> bool: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


# GCRA (see gcra.py) done atomically in Redis, on Redis's clock so instances with drifting
# clocks still agree. Whole microseconds (see gcra.py), formatted as integers, never as
# Lua's default "%.14g", which would round them.
GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now)
local wait = tat - now - tolerance
if wait > 0 then return string.format('%d', wait) end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
return '0'
"""


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
        self._take = self._client.register_script(GCRA_SCRIPT)
        self._local = MemoryStore()

    def take(self, key: str, budget: Budget) -> int:
        try:
            wait = self._take(
                keys=[f"{self._prefix}{key}"], args=[budget.interval_us, budget.tolerance_us]
            )
        except redis.RedisError as exc:
            raise SharedStoreError(str(exc)) from exc
        return int(wait)

    def take_locally(self, key: str, budget: Budget) -> int:
        return self._local.take(key, budget)

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
        self._tats: dict[str, int] = {}
        self._marks: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str, budget: Budget) -> int:
        now = time.time()
        now_us = int(now * 1_000_000)
        with self._lock:
            self._evict(now)
            wait, tat = admit(self._tats.get(key, now_us), now_us, budget)
            if wait == 0:
                self._tats[key] = tat
            return wait

    def take_locally(self, key: str, budget: Budget) -> int:
        return self.take(key, budget)

    def mark(self, key: str, ttl_s: int) -> None:
        with self._lock:
            self._marks[key] = time.time() + ttl_s

    def is_marked(self, key: str) -> bool:
        with self._lock:
            expires = self._marks.get(key)
            return expires is not None and expires > time.time()

    def _evict(self, now: float) -> None:
        if len(self._tats) > 10_000:
            self._tats = {k: v for k, v in self._tats.items() if v > now * 1_000_000}
        if len(self._marks) > 10_000:
            self._marks = {k: v for k, v in self._marks.items() if v > now}

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


def make_store(redis_url: str | None) -> SharedStore:
    return RedisStore(redis_url) if redis_url else MemoryStore()
