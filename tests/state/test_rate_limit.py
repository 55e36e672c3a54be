"""Rate limits: the GCRA arithmetic, and both stores (the in-process one and a real Redis)
keeping the same promises, whatever the wall clock's position in the minute."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signupflow.errors import RateLimited
from signupflow.state.gcra import Budget, admit
from signupflow.state.ratelimit import enforce
from signupflow.state.store import MemoryStore, RedisStore, SharedStore
from tests.support.services import started_redis

NOW = 1_800_000_000_000_000  # microseconds, late 2027


def run(budget: Budget, times_us: list[int]) -> list[int]:
    """Feed request times through admit; return the times that were admitted."""
    tat, admitted = times_us[0] if times_us else 0, []
    for now in times_us:
        wait, new_tat = admit(tat, now, budget)
        if wait == 0:
            tat = new_tat
            admitted.append(now)
    return admitted


@pytest.mark.parametrize("limit", [1, 6, 7, 9, 90, 700, 1_200, 1_000_000])
def test_a_burst_of_exactly_the_limit_passes_and_the_next_waits_one_interval(limit: int) -> None:
    budget = Budget(limit)
    tat = NOW
    for _ in range(limit):
        wait, tat = admit(tat, NOW, budget)
        assert wait == 0
    wait, _ = admit(tat, NOW, budget)
    assert wait == budget.interval_us == max(1, round(60_000_000 / limit))
    assert admit(tat, NOW + wait - 1, budget)[0] == 1
    assert admit(tat, NOW + wait, budget)[0] == 0


@given(
    limit=st.integers(1, 50),
    gaps=st.lists(st.integers(0, 5_000_000), min_size=1, max_size=300),
)
def test_no_span_admits_more_than_the_burst_plus_the_refill(limit: int, gaps: list[int]) -> None:
    budget = Budget(limit, window_us=10_000_000)
    times, now = [], NOW
    for gap in gaps:
        now += gap
        times.append(now)
    admitted = run(budget, times)
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            span = admitted[j] - start
            assert j - i + 1 <= limit + span // budget.interval_us


@given(limit=st.integers(1, 50), extra=st.integers(0, 50))
def test_a_client_that_waits_as_told_is_always_admitted(limit: int, extra: int) -> None:
    budget = Budget(limit, window_us=10_000_000)
    tat = now = NOW
    for _ in range(limit + extra):
        wait, new_tat = admit(tat, now, budget)
        if wait:
            now += wait
            wait, new_tat = admit(tat, now, budget)
        assert wait == 0
        tat = new_tat


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    for server in started_redis():
        yield server.url


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[SharedStore]:
    made: SharedStore = (
        MemoryStore()
        if request.param == "memory"
        else RedisStore(request.getfixturevalue("redis_url"), prefix=f"t{time.time_ns()}:")
    )
    yield made
    made.close()


# The stores run on real clocks: the budgets below leave seconds of slack for a slow machine.


def test_the_store_admits_the_burst_then_refuses_with_the_time_to_wait(store: SharedStore) -> None:
    budget = Budget(5)
    assert [store.take("k", budget) for _ in range(5)] == [0] * 5
    wait = store.take("k", budget)
    assert 10_000_000 <= wait <= 12_000_000
    assert store.take("other", budget) == 0


def test_the_store_refills_at_the_budgets_rate(store: SharedStore) -> None:
    budget = Budget(2, window_us=2_000_000)  # one more every second
    assert [store.take("k", budget) for _ in range(2)] == [0, 0]
    wait = store.take("k", budget)
    assert 0 < wait <= 1_000_000
    time.sleep(wait / 1_000_000 + 0.05)
    assert store.take("k", budget) == 0
    assert store.take("k", budget) > 0  # the next one is a second away again


def test_a_large_budget_keeps_its_rate_and_its_burst(store: SharedStore) -> None:
    budget = Budget(100_000, window_us=1_000_000)  # 100,000 a second: 10 µs apart
    assert all(store.take("k", budget) == 0 for _ in range(200))


def test_two_clients_of_one_redis_share_a_budget(redis_url: str) -> None:
    prefix = f"shared{time.time_ns()}:"
    first, second = RedisStore(redis_url, prefix=prefix), RedisStore(redis_url, prefix=prefix)
    budget = Budget(3)
    waits = [(first, second)[i % 2].take("k", budget) for i in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert all(w > 0 for w in waits[3:])
    first.close()
    second.close()


def test_enforce_refuses_with_a_retry_after_in_whole_seconds(store: SharedStore) -> None:
    for _ in range(2):
        enforce(store, "login", per_minute=2)
    with pytest.raises(RateLimited) as refused:
        enforce(store, "login", per_minute=2)
    assert refused.value.extra["retry_after"] == 30


def test_an_unreachable_store_keeps_each_limit_per_instance() -> None:
    down = RedisStore("redis://127.0.0.1:9/0")
    for _ in range(5):
        enforce(down, "login", per_minute=5)
    with pytest.raises(RateLimited) as refused:
        enforce(down, "login", per_minute=5)
    assert refused.value.extra["retry_after"] == 12
    enforce(down, "another-target", per_minute=5)
    down.close()
