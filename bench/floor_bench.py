"""The floor under a read on this machine, beside the real list it bounds (issue #15's p50).

Over HTTP, wrk at 1 and 64 connections, every server started by `signupflow serve` with the
same settings: a raw ASGI app, a plain FastAPI `async def` route and a plain `def` one (a trip
through the thread pool, as every route that reads the database takes), each answering the
bytes of the standard workload's list of 200 people; and the real `GET /api/v1/people?limit=200`
that produced them. In process: the CPU of that list's own work (its statements in a reading
session, its rows as dicts, the JSON; no HTTP, no authentication) at 1 row and at 200, on
SQLite and on PostgreSQL.

Every target is measured in turn, BENCH_ROUNDS times (default 3): the machine's speed drifts
by up to 2x within minutes (docs/benchmarks.md), so a floor and the list it bounds are only
compared within one round. Environment: BENCH_DURATION (seconds per wrk run, default 5),
BENCH_ROUNDS. Results are printed and written to bench/results/."""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.reporting import run, save_report, start_run
from harness.app_server import AppServer, benchmark_env, running_server, start_server
from harness.workload import ADMIN_EMAIL, SLUG, AdminToken, bearer, fresh_database, seed
from harness.wrk import WrkResult, run_wrk, wrk_command
from signupflow.actor import Actor
from signupflow.db.engine import make_engine
from signupflow.db.session import make_reading_session_factory
from signupflow.organisations.models import Organisation
from signupflow.people import service
from signupflow.responses import json_page
from signupflow.settings import Settings

PEOPLE = "/api/v1/people?limit=200"
CONNECTIONS = (1, 64)
CALLS = 200  # in-process calls per round


def list_people_work(database_url: str) -> Callable[[int], bytes]:
    """List people's own work for `limit` rows, as its route does it after authentication."""
    settings = Settings(_env_file=None, app_env="test", database_url=database_url, load_demo=False)
    sessions = make_reading_session_factory(make_engine(settings))
    with sessions() as session:
        organisation = session.scalars(select(Organisation).where(Organisation.slug == SLUG)).one()
        actor = Actor.system(organisation)

    def work(limit: int) -> bytes:
        with sessions() as session:
            items, total = service.list_people(
                session, actor, q=None, role=None, active=None, limit=limit, offset=0
            )
            return bytes(json_page(items, total=total, limit=limit, offset=0).body)

    return work


def get_body(client: httpx.Client, path: str, token: str) -> bytes:
    response = client.get(path, headers=bearer(token))
    response.raise_for_status()
    return response.content


def measured(url: str, connections: int, duration_s: int, token: str | None) -> WrkResult:
    """wrk's figures for `url` after a second's warm-up at as many connections. A run with any
    answer outside 2xx or any socket error stops the benchmark. The answers still queued when
    wrk stops are waited for (a request behind them), so they never slow the next run."""

    def run(seconds: int) -> WrkResult:
        command = wrk_command(url, connections=connections, duration_s=seconds, token=token)
        result, _ = run_wrk(command, duration_s=seconds)
        httpx.get(url, headers=bearer(token) if token else {}, timeout=60).raise_for_status()
        return result

    run(1)
    result = run(duration_s)
    if result.non_2xx or result.socket_errors:
        raise SystemExit(
            f"{url} at {connections} connections: {result.non_2xx} answers outside 2xx, "
            f"{result.socket_errors} socket errors"
        )
    return result


def cpu_ms_per_call(work: Callable[[int], bytes], limit: int) -> float:
    for _ in range(CALLS // 10):  # warm-up
        work(limit)
    started = time.process_time()
    for _ in range(CALLS):
        work(limit)
    return (time.process_time() - started) / CALLS * 1000


@contextlib.contextmanager
def floor_servers(body_file: Path, workdir: Path, database_url: str) -> Iterator[dict[str, str]]:
    """Each floor target's URL, its server running the floor apps on `body_file`."""
    env = benchmark_env(database_url, extra={"FLOOR_BODY_FILE": str(body_file)})
    servers: list[AppServer] = []
    try:
        for app in ("harness.floor_app:raw", "harness.floor_app:plain"):
            servers.append(start_server(env, workdir / f"{app.split(':')[1]}.log", app=app))
        for server in servers:
            server.wait_ready()
        raw, plain = (server.url for server in servers)
        yield {
            "raw ASGI": f"{raw}/",
            "FastAPI async def": f"{plain}/async",
            "FastAPI def": f"{plain}/def",
        }
    finally:
        for server in servers:
            server.stop()


def main() -> int:
    facts = start_run()
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    duration_s = int(os.environ.get("BENCH_DURATION", "5"))
    cpu: dict[tuple[str, int], list[float]] = {}
    http: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="floor-bench-") as tmp:
        workdir = Path(tmp)
        with contextlib.ExitStack() as stack:
            urls = {
                d: stack.enter_context(fresh_database(d, workdir)) for d in ("sqlite", "postgresql")
            }
            works = {}
            for database, url in urls.items():
                seed(url)
                works[database] = list_people_work(url)
            body = works["sqlite"](200)
            body_file = workdir / "people.json"
            body_file.write_bytes(body)
            sqlite_url = urls["sqlite"]
            targets = stack.enter_context(floor_servers(body_file, workdir, sqlite_url))
            app = stack.enter_context(running_server(sqlite_url, workdir=workdir))
            client = stack.enter_context(httpx.Client(base_url=app.url, timeout=30))
            token = AdminToken(client, email=ADMIN_EMAIL, organisation=SLUG)
            if get_body(client, PEOPLE, token.valid_for(60)) != body:
                raise SystemExit("the real list people answered other bytes than the floors")
            for round_ in range(1, rounds + 1):
                print(f"round {round_} of {rounds}", flush=True)
                for database, work in works.items():
                    for limit in (1, 200):
                        spent = cpu_ms_per_call(work, limit)
                        cpu.setdefault((database, limit), []).append(spent)
                        print(f"  in process, {database}, {limit} rows: {spent:.2f} ms")
                for name, url in (*targets.items(), ("real list people", app.url + PEOPLE)):
                    for connections in CONNECTIONS:
                        bearer = (
                            token.valid_for(duration_s + 1) if name.startswith("real") else None
                        )
                        result = measured(url, connections, duration_s, bearer)
                        http.setdefault((name, connections), []).append(
                            (result.requests_per_s, result.p50_ms, result.p99_ms)
                        )
                        print(
                            f"  {name} c{connections}: {result.requests_per_s:,.0f} req/s, "
                            f"p50 {result.p50_ms:.2f} ms",
                            flush=True,
                        )
    report = render(facts, rounds, duration_s, len(body), http, cpu)
    save_report("floor", report, {"facts": facts, "http": _keyed(http), "cpu": _keyed(cpu)})
    return 0


def _keyed(figures: dict[tuple[str, int], Any]) -> dict[str, Any]:
    return {f"{name} {number}": value for (name, number), value in figures.items()}


def render(
    facts: dict[str, str],
    rounds: int,
    duration_s: int,
    size: int,
    http: dict[tuple[str, int], list[tuple[float, float, float]]],
    cpu: dict[tuple[str, int], list[float]],
) -> str:
    lines = [
        "# SignUpFlow read floor",
        "",
        *(f"- {key}: {value}" for key, value in facts.items()),
        f"- {rounds} round(s), every target in turn; wrk {duration_s} s per run after 1 s at "
        "as many connections, the answers still queued waited for after each; the body: the "
        f"standard workload's list of 200 people, {size:,} bytes; servers: `signupflow serve` "
        "(1 worker, `APP_ENV=test`), the floors through `--app harness.floor_app:raw|plain`",
        "",
        "Over HTTP (the median round by p50; every round's p50 last):",
        "",
        "| target | connections | req/s | p50 ms | p99 ms | p50 ms by round |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for (name, connections), runs in http.items():
        rps, p50, p99 = sorted(runs, key=lambda r: r[1])[(len(runs) - 1) // 2]
        by_round = ", ".join(f"{r[1]:.2f}" for r in runs)
        lines.append(
            f"| {name} | {connections} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {by_round} |"
        )
    lines += [
        "",
        f"In process, list people's own work (CPU ms per call, {CALLS} calls a round; median, "
        "then every round):",
        "",
        "| database | rows | CPU ms | by round |",
        "|---|---:|---:|---|",
    ]
    for (database, limit), values in cpu.items():
        by_round = ", ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {database} | {limit} | {statistics.median_low(values):.2f} | {by_round} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run(main)
