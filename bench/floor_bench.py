"""The floor under a read on this machine, beside the real list it bounds (issue #15's p50).

Over HTTP, wrk at 1 and 64 connections, every server started by `signupflow serve` with one
worker: a raw ASGI app, a plain FastAPI `async def` route and a plain `def` one (a trip
through the thread pool, as every route that reads the database takes; the app's thread
limit and its `gc.freeze()`), each answering the bytes of the standard workload's list of 200
people; and the real `GET /api/v1/people?limit=200` that produced them. In process: that
list's own work (its statements in a reading session, its rows as dicts, the JSON; no HTTP,
no authentication) at 1 row and at 200, on SQLite and on PostgreSQL, as this process's CPU
time and as wall time (on PostgreSQL the server's work is in the wall time only).

Every target is measured in turn, BENCH_ROUNDS times (default 3): the machine's speed drifts
by up to 2x within minutes (docs/benchmarks.md), so a floor and the list it bounds are
compared within a round. Each target is warmed up at 64 connections first, and every run
waits for the answers still queued, as `make bench` does. Environment: BENCH_DURATION
(seconds per wrk run, default 20), BENCH_ROUNDS. Results are printed and written to
bench/results/."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import select

from bench.reporting import run, save_report, start_run
from harness.app_server import running_server
from harness.workload import (
    ADMIN_EMAIL,
    SLUG,
    AdminToken,
    analyze,
    bearer,
    fresh_database,
    seed,
    workload_settings,
)
from harness.wrk import run_drained, shown
from signupflow.actor import Actor
from signupflow.db.engine import make_engine
from signupflow.db.session import make_reading_session_factory
from signupflow.organisations.models import Organisation
from signupflow.people import service
from signupflow.responses import json_page

PEOPLE = "/api/v1/people?limit=200"
CONNECTIONS = (1, 64)
WARM_UP_S = 2
CALLS = 200  # in-process calls per round
FLOORS = {  # target: (app factory, path)
    "raw ASGI": ("harness.floor_app:raw", "/"),
    "FastAPI async def": ("harness.floor_app:plain", "/async"),
    "FastAPI def": ("harness.floor_app:plain", "/def"),
}
REAL = "real list people"
HTTP_HEAD = [
    "target",
    "connections",
    "req/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "socket errors",
    "p50 ms by round",
]
T = TypeVar("T")


@dataclass(frozen=True)
class HttpRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


@dataclass(frozen=True)
class Work:
    cpu_ms: float
    wall_ms: float


@contextlib.contextmanager
def list_people_work(database_url: str) -> Iterator[Callable[[int], bytes]]:
    """List people's own work for `limit` rows, as its route does it after authentication."""
    engine = make_engine(workload_settings(database_url))
    try:
        sessions = make_reading_session_factory(engine)
        with sessions() as session:
            organisation = session.scalars(
                select(Organisation).where(Organisation.slug == SLUG)
            ).one()
        actor = Actor.system(organisation)

        def work(limit: int) -> bytes:
            with sessions() as session:
                items, total = service.list_people(
                    session, actor, q=None, role=None, active=None, limit=limit, offset=0
                )
                return bytes(json_page(items, total=total, limit=limit, offset=0).body)

        yield work
    finally:
        engine.dispose()


def timed(work: Callable[[int], bytes], limit: int) -> Work:
    """CPU and wall ms per call, over CALLS calls after a tenth as many."""
    for _ in range(CALLS // 10):
        work(limit)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(CALLS):
        work(limit)
    return Work(
        (time.process_time() - cpu) / CALLS * 1000, (time.perf_counter() - wall) / CALLS * 1000
    )


def main() -> int:
    facts = start_run()
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    duration_s = int(os.environ.get("BENCH_DURATION", "20"))
    works: dict[tuple[str, int], list[Work]] = {}
    http: dict[tuple[str, int], list[HttpRun]] = {}
    commands: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="floor-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        databases: dict[str, str] = {}
        works_of: dict[str, Callable[[int], bytes]] = {}
        for database in ("sqlite", "postgresql"):
            databases[database] = url = stack.enter_context(fresh_database(database, workdir))
            facts[f"{database} server"] = seed(url)
            analyze(url)
            works_of[database] = stack.enter_context(list_people_work(url))
        body_file = workdir / "people.json"
        body_file.write_bytes(works_of["sqlite"](200))
        facts["body"] = f"list people, 200 rows, {body_file.stat().st_size:,} bytes"
        floor_env = {"FLOOR_BODY_FILE": str(body_file)}
        servers = {
            app: stack.enter_context(
                running_server(databases["sqlite"], workdir=workdir, extra_env=floor_env, app=app)
            )
            for app in dict.fromkeys(app for app, _path in FLOORS.values())
        }
        real = stack.enter_context(running_server(databases["sqlite"], workdir=workdir))
        urls = {name: servers[app].url + path for name, (app, path) in FLOORS.items()}
        urls[REAL] = real.url + PEOPLE
        client = stack.enter_context(httpx.Client(timeout=60))
        admin = AdminToken(
            stack.enter_context(httpx.Client(base_url=real.url, timeout=60)),
            email=ADMIN_EMAIL,
            organisation=SLUG,
        )
        answered = client.get(urls[REAL], headers=bearer(admin.valid_for(60)))
        if answered.content != body_file.read_bytes():
            raise SystemExit("the real list people answered other bytes than the floors")

        def measure(name: str, connections: int, seconds: int) -> HttpRun:
            token = admin.valid_for(seconds) if name == REAL else None
            result, command = run_drained(
                client, urls[name], connections=connections, duration_s=seconds, token=token
            )
            commands[f"{name} c{connections}"] = re.sub(
                r"127\.0\.0\.1:\d+", "127.0.0.1:$PORT", shown(command)
            )
            return HttpRun(
                result.requests_per_s,
                result.p50_ms,
                result.p99_ms,
                result.non_2xx,
                result.socket_errors,
            )

        for name in urls:
            measure(name, 64, WARM_UP_S)
        for round_ in range(1, rounds + 1):
            print(f"round {round_} of {rounds}", flush=True)
            for database, work in works_of.items():
                for limit in (1, 200):
                    spent = timed(work, limit)
                    works.setdefault((database, limit), []).append(spent)
                    print(
                        f"  in process, {database}, {limit} rows: CPU {spent.cpu_ms:.2f} ms, "
                        f"wall {spent.wall_ms:.2f} ms",
                        flush=True,
                    )
            for name in urls:
                for connections in CONNECTIONS:
                    measured = measure(name, connections, duration_s)
                    http.setdefault((name, connections), []).append(measured)
                    print(
                        f"  {name} c{connections}: {measured.requests_per_s:,.0f} req/s, "
                        f"p50 {measured.p50_ms:.2f} ms",
                        flush=True,
                    )
    facts["command"] = f"BENCH_DURATION={duration_s} BENCH_ROUNDS={rounds} make bench-floor"
    report = render(facts, rounds, duration_s, http, works)
    save_report(
        "floor",
        report,
        {
            "facts": facts,
            "wrk": commands,
            "http": {f"{n} c{c}": [vars(r) for r in runs] for (n, c), runs in http.items()},
            "in process": {f"{d} {n}": [vars(w) for w in ws] for (d, n), ws in works.items()},
        },
    )
    errors = sum(r.non_2xx + r.socket_errors for runs in http.values() for r in runs)
    return 1 if errors else 0


def median_round(runs: list[T], key: Callable[[T], float]) -> T:
    return sorted(runs, key=key)[(len(runs) - 1) // 2]


def ms(value: float) -> str:
    return f"{value:.2f}"


def by_round(values: Iterable[float]) -> str:
    return ", ".join(map(ms, values))


def table(head: list[str], rows: Iterable[list[str]]) -> list[str]:
    """A Markdown table: the first column and the lists of rounds left-aligned, figures right."""
    align = ["---" if i == 0 or h.endswith("by round") else "---:" for i, h in enumerate(head)]
    return [f"| {' | '.join(head)} |", f"|{'|'.join(align)}|"] + [
        f"| {' | '.join(row)} |" for row in rows
    ]


def http_row(name: str, connections: int, runs: list[HttpRun]) -> list[str]:
    """The median round by p50, the errors of every round and every round's p50."""
    median = median_round(runs, key=lambda r: r.p50_ms)
    non_2xx, socket_errors = sum(r.non_2xx for r in runs), sum(r.socket_errors for r in runs)
    return [
        name,
        str(connections),
        f"{median.requests_per_s:,.0f}",
        ms(median.p50_ms),
        ms(median.p99_ms),
        str(non_2xx),
        str(socket_errors),
        by_round(r.p50_ms for r in runs),
    ]


def work_row(database: str, limit: int, values: list[Work]) -> list[str]:
    """The median round by CPU, then every round's CPU and wall time."""
    median = median_round(values, key=lambda w: w.cpu_ms)
    every = (by_round(w.cpu_ms for w in values), by_round(w.wall_ms for w in values))
    return [database, str(limit), ms(median.cpu_ms), ms(median.wall_ms), *every]


def render(
    facts: dict[str, str],
    rounds: int,
    duration_s: int,
    http: dict[tuple[str, int], list[HttpRun]],
    works: dict[tuple[str, int], list[Work]],
) -> str:
    http_rows = [http_row(name, n, runs) for (name, n), runs in http.items()]
    work_rows = [work_row(database, n, values) for (database, n), values in works.items()]
    lines = [
        "# SignUpFlow read floor",
        "",
        *(f"- {key}: {value}" for key, value in facts.items()),
        f"- {rounds} round(s), every target in turn; wrk {duration_s} s per run, each target "
        f"warmed up first ({WARM_UP_S} s at 64 connections), the answers still queued waited "
        "for after every run; servers: `signupflow serve` with 1 worker (`APP_ENV=test`), the "
        "floors through `--app harness.floor_app:raw|plain`, answering the real list's bytes",
        "",
        "Over HTTP (each target's median round by p50; every round's p50 last):",
        "",
        *table(HTTP_HEAD, http_rows),
        "",
        f"In process, list people's own work, ms per call ({CALLS} calls a round; this "
        "process's CPU, and wall time, which on PostgreSQL includes the server's work; the "
        "median round by CPU, then every round):",
        "",
        *table(
            ["database", "rows", "CPU ms", "wall ms", "CPU ms by round", "wall ms by round"],
            work_rows,
        ),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run(main)
