"""bench/soak_bench: its plan, its pass criteria (each shown failing on a soak that breaks it),
and the soak itself at a tiny size."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from bench.soak_bench import (
    FULL_EVERY,
    READS_PER_WRITE,
    Config,
    Minute,
    Soak,
    SoakData,
    report,
    run_soak,
    soak_plan,
    verdict,
)
from bench.write_bench import Volunteer

from harness.postgres import pg_bin_dir
from harness.request_plan import PlanRun, ThreadCounts
from harness.workload import Endpoint
from harness.wrk import WrkResult, wrk_binary
from tests.support.services import require_service
from tests.support.settings import BACKEND

WORKERS = [101, 102]
READS = [
    Endpoint("list events", "/api/v1/events?limit=50", 50),
    Endpoint("list people", "/api/v1/people?limit=200", 200),
    Endpoint("event assignments", "/api/v1/events/1/assignments", 4),
    Endpoint("org assignments", "/api/v1/assignments?limit=200", 200),
]


def _run(
    *, p99_ms: float = 100.0, created: int = 50, withdrawn: int = 50, **statuses: int
) -> PlanRun:
    result = WrkResult(
        requests=1000,
        seconds=60.0,
        requests_per_s=16.7,
        p50_ms=20.0,
        p99_ms=p99_ms,
        non_2xx_3xx=0,
        connect_errors=0,
        read_errors=0,
        write_errors=0,
        timeouts=0,
    )
    counts = {"200": 800, "201": created, "204": withdrawn, "409 /problems/slot-full": 10}
    return PlanRun(
        result=result,
        window_s=60.0,
        drain_s=0.2,
        statuses=counts | {k.replace("_", " "): n for k, n in statuses.items()},
        threads=[ThreadCounts(taken=500, sent=500, received=500, withdrawals_left=0)] * 2,
        created=[],
        exhausted=False,
        command="wrk ...",
    )


def _soak(minutes: list[Minute], **changes: object) -> Soak:
    fields: dict[str, object] = {
        "config": Config(soak_s=180, run_s=60, sample_s=5, workers=2),
        "database": "PostgreSQL 15",
        "workers": WORKERS,
        "plan_size": 1000,
        "minutes": minutes,
        "replaced": [],
        "tracebacks": 0,
        "leftovers": [],
    }
    return Soak(**(fields | changes))  # type: ignore[arg-type]


def _minute(index: int, run: PlanRun, rss_mib: tuple[int, int] = (150, 150)) -> Minute:
    return Minute(index, run, {pid: mib * 1024 for pid, mib in zip(WORKERS, rss_mib, strict=True)})


STEADY = [_minute(1, _run()), _minute(2, _run(p99_ms=110.0)), _minute(3, _run(p99_ms=115.0))]


def _failed(soak: Soak) -> list[str]:
    return [c.name for c in verdict(soak) if not c.passed]


def test_a_steady_soak_passes() -> None:
    assert _failed(_soak(STEADY)) == []


@pytest.mark.parametrize(
    ("last", "changes", "failed"),
    [
        (_minute(3, _run(), (150, 166)), {}, "RSS in the last minute"),
        (_minute(3, _run(p99_ms=121.0)), {}, "p99 of the last minute"),
        (_minute(3, _run(**{"500": 1})), {}, "no errors"),
        (_minute(3, _run(**{"401_/problems/unauthenticated": 3})), {}, "only expected"),
        (_minute(3, _run(created=50, withdrawn=49)), {}, "every assignment created"),
        (STEADY[2], {"leftovers": ["soak slot 9 still holds 1 (1 rows)"]}, "every assignment"),
        (STEADY[2], {"tracebacks": 1}, "no errors"),
        (STEADY[2], {"replaced": ["workers [101, 102] became [101, 103]"]}, "no worker replaced"),
    ],
)
def test_a_soak_that_breaks_a_criterion_fails_it(
    last: Minute, changes: dict[str, object], failed: str
) -> None:
    failures = _failed(_soak([*STEADY[:2], last], **changes))
    assert len(failures) == 1, failures
    assert failed in failures[0]


def test_the_report_shows_each_read_asked_alone_and_the_last_run_against_the_first() -> None:
    minutes = [
        replace(m, alone_ms={"list events": 4.0 + i, "list people": 8.0})
        for i, m in enumerate(STEADY)
    ]
    soak = _soak(minutes)
    text = report(soak, {}, verdict(soak))
    assert "| minute | list events | list people |" in text
    assert "| 3 | 6.0 | 8.0 |" in text
    assert "| last / first | 1.50 | 1.00 |" in text


def test_the_plan_reads_four_times_per_write_and_sends_some_sign_ups_to_full_slots() -> None:
    volunteers = [Volunteer(p, f"v{p}@example.org", ("greeter", "usher")) for p in range(1, 21)]
    standard = [
        {"id": 1, "slots": [{"role": "usher"}, {"role": "teacher"}]},
        {"id": 2, "slots": [{"role": "greeter"}]},
    ]
    data = SoakData(volunteers, [11, 12], [21, 22], standard)
    plan = soak_plan(data, READS)
    writes = [r for r in plan if r.method == "POST"]
    assert Counter(r.method for r in plan) == {"GET": READS_PER_WRITE * len(writes), "POST": 80}
    assert all(r.method == "POST" for r in plan[READS_PER_WRITE :: READS_PER_WRITE + 1])
    sign_ups = [r for r in writes if r.path.endswith("/signups")]
    full = [r for r in sign_ups if r.path.startswith(("/api/v1/events/1/", "/api/v1/events/2/"))]
    assert len(full) == len(sign_ups) // FULL_EVERY
    assert all(json.loads(r.body)["role"] in ("greeter", "usher") for r in full)
    assignments = [r for r in writes if r.path.endswith("/assignments")]
    assert {r.token for r in assignments} == {"admin"}
    assert len(assignments) == len(sign_ups) == 40


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "postgresql", reason="runs in the PostgreSQL pass")
def test_a_short_soak_withdraws_everything_it_created_and_samples_every_worker(
    tmp_path: Path,
) -> None:
    if pg_bin_dir() is None:
        require_service("PostgreSQL server binaries are not installed")
    if wrk_binary() is None:
        require_service("wrk is not installed (apt-get install wrk)")
    soak = run_soak(Config(soak_s=10, run_s=5, sample_s=1, workers=2), tmp_path)
    criteria = {c.name: c for c in verdict(soak)}
    # Latency and memory on a busy test machine are not what this test judges.
    judged = [c for name, c in criteria.items() if not name.startswith(("p99", "each worker"))]
    assert all(c.passed for c in judged), judged
    assert len(soak.minutes) == 2
    assert len(soak.workers) == 2
    for minute in soak.minutes:
        assert minute.run.count("201") > 0
        assert minute.run.count("200") > minute.run.count("201")
        assert all(kib > 10_000 for kib in minute.rss_kib.values())
        assert set(minute.alone_ms) == {
            "list events",
            "list people",
            "event assignments",
            "org assignments",
        }
        assert all(ms > 0 for ms in minute.alone_ms.values())
