"""What conditional reads cost and save (signupflow/conditional.py, organisations/data_versions.py).

Reads, over HTTP: the standard workload's lists through a real `signupflow serve`, measured by
wrk as full answers (200) and as conditional ones whose If-None-Match holds (304).

Writes, in process, on PostgreSQL: every writing transaction of an organisation ends by
rewriting that organisation's version row, so concurrent writers of one organisation queue
for that row's lock from the UPDATE to their commit. Measured as transactions a second and
their latency, with the version (the app's session factory) and without (a bare one), for the
same transaction: lock one event of the writer's own, change its title, write an audit entry.
Each writer has its own event, so without the version nothing makes them wait for each other.
Run with the server's defaults (fsync and synchronous_commit on): the lock is held for the
commit's WAL flush, and that is what it costs.

Environment: BENCH_DURATION (seconds per run, default 10), BENCH_DATABASES for the reads
(`sqlite,postgresql`), BENCH_WRITERS (`1,8,48`: at most one per event of the workload),
BENCH_PARTS (`reads,writes`).
Results are printed and written to bench/results/."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from harness.app_server import running_server
from harness.postgres import PostgresCluster, start_cluster
from harness.wrk import WrkResult, run_wrk, shown, wrk_binary, wrk_command
from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import seed_workload
from signupflow.events.models import Event
from signupflow.organisations.models import Organisation
from signupflow.settings import Settings
from signupflow.tenancy import get_scoped

RESULTS_DIR = Path(__file__).with_name("results")
SLUG = "bench"
ADMIN_EMAIL = "admin@bench.example.org"
PASSWORD = "bench-password-not-secret"
READS = {"list events": "/api/v1/events?limit=50", "list people": "/api/v1/people?limit=200"}


def _csv(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def settings_for(database_url: str) -> Settings:
    # A pool for every writer: waiting for a connection is not what is measured.
    return Settings(
        _env_file=None,
        app_env="test",
        database_url=database_url,
        bcrypt_rounds=4,
        load_demo=False,
        db_pool_size=70,
        db_max_overflow=0,
    )


def seed(database_url: str) -> list[int]:
    """Migrate and seed the standard workload; its event ids."""
    settings = settings_for(database_url)
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            workload = seed_workload(
                session, settings, slug=SLUG, admin_email=ADMIN_EMAIL, password=PASSWORD
            )
        return workload.event_ids
    finally:
        engine.dispose()


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[tuple[str, PostgresCluster | None]]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}", None
        return
    # The server's defaults: fsync and synchronous_commit on (the harness turns fsync off).
    cluster = start_cluster(fsync="on")
    if cluster is None:
        raise SystemExit("PostgreSQL server binaries (initdb) are not installed")
    try:
        yield cluster.create_database("signupflow_bench"), cluster
    finally:
        cluster.destroy()


# --- Reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRow:
    database: str
    endpoint: str
    answer: str  # "200" or "304"
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    command: str


def measure_reads(kind: str, duration_s: int, workdir: Path) -> list[ReadRow]:
    rows: list[ReadRow] = []
    with database(kind, workdir) as (url, _cluster):
        seed(url)
        with (
            running_server(url, workdir=workdir) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            login = client.post(
                "/api/v1/auth/login",
                json={"email": ADMIN_EMAIL, "password": PASSWORD, "organisation": SLUG},
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            for name, path in READS.items():
                full = client.get(path, headers={"Authorization": f"Bearer {token}"})
                full.raise_for_status()
                tag = full.headers["etag"]
                for answer in ("200", "304"):
                    for connections in (1, 64):
                        command = wrk_command(
                            server.url + path,
                            connections=connections,
                            duration_s=duration_s,
                            token=token,
                            wrk=wrk_binary() or "wrk",
                        )
                        if answer == "304":
                            command[-1:-1] = ["-H", f"If-None-Match: {tag}"]
                        result: WrkResult = run_wrk(command, duration_s=duration_s)[0]
                        rows.append(
                            ReadRow(
                                kind,
                                name,
                                answer,
                                connections,
                                result.requests_per_s,
                                result.p50_ms,
                                result.p99_ms,
                                result.requests,
                                shown(command)
                                .replace(server.url, "http://127.0.0.1:$PORT")
                                .replace(f'"If-None-Match: {tag}"', '"If-None-Match: $ETAG"'),
                            )
                        )
                        print("  " + read_line(rows[-1]), flush=True)
                        # Answers still queued when wrk stopped: drained before the next run.
                        client.get(path, headers={"Authorization": f"Bearer {token}"})
    return rows


def read_line(row: ReadRow) -> str:
    return (
        f"| {row.database} | {row.endpoint} | {row.answer} | {row.connections} "
        f"| {row.requests_per_s:,.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.requests:,} |"
    )


# --- Writes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteRow:
    writers: int
    version: bool
    transactions_per_s: float
    p50_ms: float
    p99_ms: float
    transactions: int


def write_once(session: Session, actor: Actor, event_id: int, n: int) -> None:
    event = get_scoped(session, Event, event_id, actor.organisation_id, for_change=True)
    event.title = f"Service {n}"
    record(session, actor, action="update", entity="event", entity_id=event_id, changes={})


def run_writers(
    factory: sessionmaker[Session], organisation_id: int, events: list[int], duration_s: float
) -> tuple[int, list[float]]:
    latencies: list[list[float]] = [[] for _ in events]
    stop = threading.Event()
    barrier = threading.Barrier(len(events) + 1)

    def writer(index: int) -> None:
        with unit_of_work(factory) as session:
            organisation = session.get_one(Organisation, organisation_id)
        actor = Actor.system(organisation)
        barrier.wait()
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            with unit_of_work(factory) as session:
                write_once(session, actor, events[index], n)
            latencies[index].append(time.perf_counter() - started)
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    barrier.wait()
    time.sleep(duration_s)
    stop.set()
    for thread in threads:
        thread.join()
    every = [latency for own in latencies for latency in own]
    return len(every), every


def measure_writes(writer_counts: list[int], duration_s: int, workdir: Path) -> list[WriteRow]:
    rows: list[WriteRow] = []
    with database("postgresql", workdir) as (url, _cluster):
        events = seed(url)
        engine = make_engine(settings_for(url))
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                organisation_id = session.scalars(
                    select(Organisation.id).where(Organisation.slug == SLUG)
                ).one()
            tracked = make_session_factory(engine)
            bare = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
            for writers in writer_counts:
                if writers > len(events):
                    raise SystemExit(f"at most {len(events)} writers (one event each)")
                for version, factory in ((False, bare), (True, tracked)):
                    run_writers(factory, organisation_id, events[:writers], 1.0)  # warm-up
                    count, latencies = run_writers(
                        factory, organisation_id, events[:writers], duration_s
                    )
                    cuts = statistics.quantiles(latencies, n=100)
                    rows.append(
                        WriteRow(
                            writers,
                            version,
                            count / duration_s,
                            cuts[49] * 1000,
                            cuts[98] * 1000,
                            count,
                        )
                    )
                    print("  " + write_line(rows[-1]), flush=True)
        finally:
            engine.dispose()
    return rows


def write_line(row: WriteRow) -> str:
    return (
        f"| {row.writers} | {'yes' if row.version else 'no'} | {row.transactions_per_s:,.0f} "
        f"| {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.transactions:,} |"
    )


# --- Report --------------------------------------------------------------------------------


def report(reads: list[ReadRow], writes: list[WriteRow], duration_s: int) -> str:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    lines = [
        f"# Conditional reads, {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        "",
        f"- nproc {len(os.sched_getaffinity(0))}, load average at end {load}, "
        f"{duration_s} s per run; the load generator shares the machine's cores",
        "",
    ]
    if reads:
        lines += [
            "Reads: one `signupflow serve` worker, the standard workload, wrk with and without "
            "an If-None-Match that holds.",
            "",
            "| database | endpoint | answer | connections | requests/s | p50 ms | p99 ms "
            "| requests |",
            "|---|---|---|---:|---:|---:|---:|---:|",
            *(read_line(row) for row in reads),
            "",
            "wrk commands (`$TOKEN` from POST /api/v1/auth/login as the admin, `$ETAG` from "
            "a first GET of the same URL):",
            "",
            *(f"    {c}" for c in dict.fromkeys(row.command for row in reads)),
            "",
        ]
    if writes:
        lines += [
            "Writes: PostgreSQL (fsync on), one organisation, each writer its own event "
            "(lock it, retitle it, audit it, commit), with and without the data version.",
            "",
            "| writers | version | transactions/s | p50 ms | p99 ms | transactions |",
            "|---:|---|---:|---:|---:|---:|",
            *(write_line(row) for row in writes),
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    duration = int(os.environ.get("BENCH_DURATION", "10"))
    parts = _csv("BENCH_PARTS", "reads,writes")
    if set(parts) - {"reads", "writes"} or duration < 1:
        print("BENCH_PARTS takes reads,writes; BENCH_DURATION >= 1", file=sys.stderr)
        return 2
    if "reads" in parts and wrk_binary() is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 1
    reads: list[ReadRow] = []
    writes: list[WriteRow] = []
    with tempfile.TemporaryDirectory(prefix="sf-conditional-") as tmp:
        if "reads" in parts:
            for kind in _csv("BENCH_DATABASES", "sqlite,postgresql"):
                workdir = Path(tmp) / f"reads-{kind}"
                workdir.mkdir()
                print(f"reads on {kind}", flush=True)
                reads += measure_reads(kind, duration, workdir)
        if "writes" in parts:
            workdir = Path(tmp) / "writes"
            workdir.mkdir()
            print("writes on postgresql", flush=True)
            writers = [int(n) for n in _csv("BENCH_WRITERS", "1,8,48")]
            writes = measure_writes(writers, duration, workdir)
    text = report(reads, writes, duration)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"conditional-{stamp}.md").write_text(text)
    raw = {"reads": [asdict(r) for r in reads], "writes": [asdict(w) for w in writes]}
    (RESULTS_DIR / f"conditional-{stamp}.json").write_text(json.dumps(raw, indent=2))
    print("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
