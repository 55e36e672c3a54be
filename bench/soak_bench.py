"""`make bench-soak`: the mixed read/write workload for BENCH_SOAK_S seconds (default 600) at 64
connections on PostgreSQL with one worker per core, measured minute by minute, with each
worker's resident memory sampled throughout (issue #15, "No leaks").

The data: the standard workload (shared notes, benchmarks.md) with its 200 slots filled through
the API, as `make bench` measures it; its 200 volunteers given logins (bench.write_bench); and
2 x SOAK_EVENTS published events after the standard ones, six role slots of SOAK_CAPACITY
places each, for sign-ups and for assignments.

The load, one wrk run per minute (harness/request_plan.lua in "cycle" mode), 4 reads to each
write: the reads are the bench endpoints (list events, list people, an event's assignments, the
organisation's assignments) as the admin; the writes alternate between a volunteer signing up
(with their own token) and the admin assigning someone, and every assignment answered 201 is
withdrawn again (DELETE /api/v1/assignments/ID, by the volunteer or the admin) when a later
write's turn comes, so the data does not grow (the audit log and the notification outbox, which
keep every change, do). One sign-up in five goes to a full slot of the standard events: the
refusals (409 `slot-full`, `already-assigned`, `person-unavailable` for someone on time off
that day) are part of the load, and listed apart from the
errors. Each run drains before it stops, and withdraws what it still owes.

Pass criteria, printed and reflected in the exit status: no error (5xx, socket errors, requests
without an answer, a traceback in the server's log, a worker replaced); every assignment
created was withdrawn, the soak's slots are empty at the end and the standard ones as seeded;
each worker's resident set in the last minute at most RSS_GROWTH_LIMIT above the first
minute's (the warm-up); the last minute's p99 at most P99_DRIFT_LIMIT above the first's.

After each run every read is also asked alone, ALONE_REQUESTS times in turn (the median shown):
a service that slows down as the soak goes on shows there, apart from the speed of a shared
machine, which changes from minute to minute under load (the p99 above moves by a third between
one minute and the next on this 2-core machine, docs/benchmarks.md).

Environment: BENCH_SOAK_S (default 600), BENCH_SOAK_RUN_S (seconds per wrk run, default 60),
BENCH_SOAK_SAMPLE_S (seconds between memory samples, default 5), BENCH_SOAK_WORKERS (default: one
per core). Results are printed and written to bench/results/soak-*.{md,json}.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import cycle, islice
from pathlib import Path
from statistics import median
from typing import Any

import httpx

from bench.reporting import run, save_report, start_run
from bench.write_bench import (
    ADMIN_KEY,
    CONNECTIONS,
    FIRST_EXTRA_EVENT,
    SERVER_ENV,
    SLOT_FULL,
    SlotCount,
    Volunteer,
    add_open_events,
    give_volunteers_logins,
    log_in_volunteers,
    slot_counts,
    walk,
    write_request,
)
from harness.app_server import AppServer, running_server
from harness.memory import server_workers, status_kib
from harness.request_plan import Plan, PlannedRequest, PlanRun, run_plan
from harness.workload import (
    ADMIN_EMAIL,
    SLUG,
    AdminToken,
    Endpoint,
    bearer,
    bench_endpoints,
    fill_slots,
    fresh_database,
    seed,
)
from harness.wrk import wrk_binary

DEFAULT_SOAK_S = 600
DEFAULT_RUN_S = 60
DEFAULT_SAMPLE_S = 5
# Tokens must outlive the set-up and the whole soak; 24 h is the longest the settings allow.
TOKEN_TTL_S = 86_400
MAX_SOAK_S = TOKEN_TTL_S - 3_600
RSS_GROWTH_LIMIT = 0.10
P99_DRIFT_LIMIT = 0.20
SOAK_EVENTS = 10  # per kind of write
SOAK_CAPACITY = 50  # far more than are ever placed at once: the soak's slots never fill
READS_PER_WRITE = 4
FULL_EVERY = 5  # one sign-up in five goes to a full slot of the standard events
ALREADY_ASSIGNED = "409 /problems/already-assigned"
# The standard events fall in the workload's time off: some who try a full slot are away then.
AWAY = "409 /problems/person-unavailable"
EXPECTED = ("200", "201", "204", SLOT_FULL, ALREADY_ASSIGNED, AWAY)
ALONE_REQUESTS = 20
COMMAND = "make bench-soak"


@dataclass(frozen=True)
class Config:
    soak_s: int
    run_s: int
    sample_s: float
    workers: int

    @property
    def runs(self) -> int:
        return self.soak_s // self.run_s

    @classmethod
    def from_environment(cls) -> Config:
        env = os.environ.get
        try:
            config = cls(
                soak_s=int(env("BENCH_SOAK_S", str(DEFAULT_SOAK_S))),
                run_s=int(env("BENCH_SOAK_RUN_S", str(DEFAULT_RUN_S))),
                sample_s=float(env("BENCH_SOAK_SAMPLE_S", str(DEFAULT_SAMPLE_S))),
                workers=int(env("BENCH_SOAK_WORKERS", str(len(os.sched_getaffinity(0))))),
            )
        except ValueError as exc:
            raise SystemExit(
                f"BENCH_SOAK_S, BENCH_SOAK_RUN_S, BENCH_SOAK_SAMPLE_S: {exc}"
            ) from None
        if config.run_s < 5 or config.soak_s % config.run_s or config.runs < 2:
            raise SystemExit(
                "BENCH_SOAK_S must be a multiple of BENCH_SOAK_RUN_S (>= 5), at least two runs "
                f"(got {config.soak_s} and {config.run_s})"
            )
        if config.soak_s > MAX_SOAK_S:
            raise SystemExit(f"BENCH_SOAK_S at most {MAX_SOAK_S} (tokens live {TOKEN_TTL_S} s)")
        if not 0.1 <= config.sample_s <= config.run_s / 2 or config.workers < 1:
            raise SystemExit(
                "BENCH_SOAK_SAMPLE_S between 0.1 and half a run; BENCH_SOAK_WORKERS >= 1 "
                f"(got {config.sample_s}, {config.workers})"
            )
        return config


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class SoakData:
    volunteers: list[Volunteer]
    sign_up_events: list[int]
    assignment_events: list[int]
    standard_events: list[dict[str, Any]]  # as GET /api/v1/events returns them, with slots


def _full_sign_ups(
    volunteers: Sequence[Volunteer], events: Sequence[dict[str, Any]]
) -> Iterator[PlannedRequest]:
    """Volunteers asking for a role they hold at one of the standard events, whose slots are
    all full: each is refused, `slot-full` (or `already-assigned` for who serves there)."""
    for i, volunteer in enumerate(volunteers):
        event = events[i % len(events)]
        roles = [slot["role"] for slot in event["slots"] if slot["role"] in volunteer.roles]
        if roles:
            yield write_request("self sign-up", event["id"], volunteer, roles[0])


def soak_plan(data: SoakData, reads: Sequence[Endpoint]) -> list[PlannedRequest]:
    """READS_PER_WRITE reads (the endpoints in turn) before each write; the writes alternate
    between a sign-up and an assignment, and every FULL_EVERY-th sign-up asks for a full slot."""
    sign_ups = walk("self sign-up", data.volunteers, data.sign_up_events)
    assignments = walk("admin assignment", data.volunteers, data.assignment_events)
    refused = list(_full_sign_ups(data.volunteers, data.standard_events))
    if not refused:
        raise RuntimeError("no volunteer holds a role of the standard events' slots")
    full = cycle(refused)
    writes: list[PlannedRequest] = []
    for count, (sign_up, assignment) in enumerate(zip(sign_ups, assignments, strict=True)):
        writes += [next(full) if count % FULL_EVERY == FULL_EVERY - 1 else sign_up, assignment]
    read_paths = cycle(PlannedRequest("GET", e.path, ADMIN_KEY) for e in reads)
    plan: list[PlannedRequest] = []
    for write in writes:
        plan += [*islice(read_paths, READS_PER_WRITE), write]
    return plan


# ---------------------------------------------------------------------------------------------
# Memory


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    rss_kib: dict[int, int]  # per worker pid


@dataclass
class MemoryWatch:
    """Each worker's VmRSS every `interval_s`, and whether the set of workers changed."""

    server_pid: int
    workers: list[int]
    interval_s: float
    samples: list[Sample] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        now = server_workers(self.server_pid)
        if now != self.workers and not self.replaced:
            self.replaced.append(f"workers {self.workers} became {now}")
        self.samples.append(
            Sample(time.monotonic(), {pid: status_kib(pid, "VmRSS") for pid in self.workers})
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> MemoryWatch:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> dict[int, int]:
        """Each worker's largest resident set sampled in [start, end] (KiB)."""
        inside = [s for s in self.samples if start <= s.at <= end]
        return {pid: max((s.rss_kib[pid] for s in inside), default=0) for pid in self.workers}


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass(frozen=True)
class Minute:
    index: int
    run: PlanRun
    rss_kib: dict[int, int]  # each worker's peak in this run
    alone_ms: dict[str, float] = field(default_factory=dict)  # each read asked alone, after


def ask_alone(client: httpx.Client, reads: Sequence[Endpoint], token: str) -> dict[str, float]:
    """Each read's median time (ms) over ALONE_REQUESTS requests sent one at a time."""
    medians = {}
    headers = bearer(token)
    for read in reads:
        times = []
        for _ in range(ALONE_REQUESTS):
            started = time.perf_counter()
            response = client.get(read.path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{read.name}: {response.status_code} {response.text[:200]}")
        medians[read.name] = median(times)
    return medians


@dataclass(frozen=True)
class Soak:
    config: Config
    database: str
    workers: list[int]
    plan_size: int
    minutes: list[Minute]
    replaced: list[str]
    tracebacks: int
    leftovers: list[str]  # soak slots not empty, standard slots not as seeded


def _leftovers(soak_slots: Sequence[SlotCount], standard_slots: Sequence[SlotCount]) -> list[str]:
    found = [
        f"soak slot {s.slot_id} still holds {s.filled} ({s.rows} rows)"
        for s in soak_slots
        if s.filled or s.rows
    ]
    found += [
        f"standard slot {s.slot_id}: capacity {s.capacity}, filled {s.filled}, holding "
        f"{s.holding}, rows {s.rows}"
        for s in standard_slots
        if not s.capacity == s.filled == s.holding == s.rows
    ]
    return found


def run_soak(config: Config, workdir: Path) -> Soak:
    workdir.mkdir(parents=True, exist_ok=True)
    with fresh_database("postgresql", workdir) as database_url:
        print("soak: seeding the standard workload, logins and events", flush=True)
        version = seed(database_url)
        volunteers = give_volunteers_logins(database_url)
        soak_events = add_open_events(
            database_url,
            count=2 * SOAK_EVENTS,
            first=FIRST_EXTRA_EVENT,
            capacities=(SOAK_CAPACITY,),
            title="Soak",
        )
        env = SERVER_ENV | {"ACCESS_TOKEN_TTL_S": str(TOKEN_TTL_S)}
        with (
            running_server(
                database_url, workdir=workdir, workers=config.workers, extra_env=env
            ) as server,
            httpx.Client(base_url=server.url, timeout=30.0) as client,
        ):
            admin = AdminToken(client, email=ADMIN_EMAIL, organisation=SLUG)
            token = admin.valid_for(config.soak_s + 600)
            fill_slots(client, token)
            reads = [e for e in bench_endpoints(client, token) if e.name != "health"]
            standard = client.get(
                "/api/v1/events?limit=50", headers={"Authorization": f"Bearer {token}"}
            ).json()["items"]
            data = SoakData(
                volunteers=volunteers,
                sign_up_events=soak_events[:SOAK_EVENTS],
                assignment_events=soak_events[SOAK_EVENTS:],
                standard_events=standard,
            )
            plan = Plan(
                tokens={**log_in_volunteers(client, volunteers), ADMIN_KEY: token},
                requests=soak_plan(data, reads),
                mode="cycle",
            )
            ask = functools.partial(ask_alone, client, reads, token)
            minutes, watch = _soak(server, plan, config, workdir, ask)
            tracebacks = server.logs().count("Traceback")
        soak_slots, _ = slot_counts(database_url, soak_events)
        standard_slots, _ = slot_counts(database_url, [e["id"] for e in standard])
    return Soak(
        config=config,
        database=f"PostgreSQL {version}",
        workers=watch.workers,
        plan_size=len(plan.requests),
        minutes=minutes,
        replaced=watch.replaced,
        tracebacks=tracebacks,
        leftovers=_leftovers(soak_slots, standard_slots),
    )


def _soak(
    server: AppServer,
    plan: Plan,
    config: Config,
    workdir: Path,
    alone: Callable[[], dict[str, float]],  # each read asked alone, after a run
) -> tuple[list[Minute], MemoryWatch]:
    workers = server_workers(server.process.pid)
    if len(workers) != config.workers:
        raise RuntimeError(f"expected {config.workers} worker processes, found {workers}")
    minutes = []
    with MemoryWatch(server.process.pid, workers, config.sample_s) as watch:
        for index in range(config.runs):
            started = time.monotonic()
            run = run_plan(
                server.url,
                plan,
                connections=CONNECTIONS,
                duration_s=config.run_s,
                workdir=workdir / f"run-{index + 1}",
                wrk=wrk_binary() or "wrk",
            )
            watch.sample()
            rss = watch.peak_between(started, time.monotonic())
            minute = Minute(index + 1, run, rss, alone())
            minutes.append(minute)
            print("  " + _table_line(minute, workers), flush=True)
    return minutes, watch


# ---------------------------------------------------------------------------------------------
# Verdict and report


@dataclass(frozen=True)
class Criterion:
    name: str
    passed: bool
    detail: str


def _growth(first: int, last: int) -> float:
    return (last - first) / first if first else float("inf")


def verdict(soak: Soak) -> list[Criterion]:
    minutes = soak.minutes
    errors: dict[str, int] = {}
    unexpected: dict[str, int] = {}
    for minute in minutes:
        for name, n in minute.run.errors().items():
            errors[name] = errors.get(name, 0) + n
        for status, n in minute.run.statuses.items():
            if status not in EXPECTED and not status.startswith("5"):
                unexpected[status] = unexpected.get(status, 0) + n
    if soak.tracebacks:
        errors["tracebacks in the server log"] = soak.tracebacks
    unbalanced = [
        f"minute {m.index}: {m.run.count('201')} created, {m.run.count('204')} withdrawn"
        for m in minutes
        if m.run.count("201") != m.run.count("204")
    ]
    first, last = minutes[0], minutes[-1]
    growth = {pid: _growth(first.rss_kib[pid], last.rss_kib[pid]) for pid in soak.workers}
    drift = _growth(round(first.run.result.p99_ms * 1000), round(last.run.result.p99_ms * 1000))
    return [
        Criterion(
            "no errors (5xx, socket errors, unanswered requests, tracebacks)",
            not errors,
            ", ".join(f"{k} {n:,}" for k, n in errors.items()) or "0",
        ),
        Criterion(
            "only expected answers (200, 201, 204, 409 slot-full, already-assigned or "
            "person-unavailable)",
            not unexpected,
            ", ".join(f"{k} {n:,}" for k, n in unexpected.items()) or "none other",
        ),
        Criterion(
            "every assignment created was withdrawn; soak slots empty, standard slots as seeded",
            not unbalanced and not soak.leftovers,
            "; ".join(unbalanced + soak.leftovers[:10]) or "yes",
        ),
        Criterion(
            "no worker replaced",
            not soak.replaced,
            "; ".join(soak.replaced) or f"the same {len(soak.workers)} throughout",
        ),
        Criterion(
            f"each worker's RSS in the last minute at most {RSS_GROWTH_LIMIT:.0%} above the "
            "first minute's",
            all(g < RSS_GROWTH_LIMIT for g in growth.values()),
            ", ".join(
                f"worker {n}: {first.rss_kib[pid] / 1024:.0f} -> {last.rss_kib[pid] / 1024:.0f} "
                f"MiB ({growth[pid]:+.1%})"
                for n, pid in enumerate(soak.workers, start=1)
            ),
        ),
        Criterion(
            f"p99 of the last minute at most {P99_DRIFT_LIMIT:.0%} above the first's",
            drift <= P99_DRIFT_LIMIT,
            f"{first.run.result.p99_ms:.1f} -> {last.run.result.p99_ms:.1f} ms ({drift:+.1%})",
        ),
    ]


def _statuses(statuses: Mapping[str, int], *wanted: str) -> int:
    return sum(statuses.get(s, 0) for s in wanted)


def _table_line(minute: Minute, workers: Sequence[int]) -> str:
    r = minute.run
    refused = {
        k.removeprefix("409 /problems/"): n for k, n in r.statuses.items() if k.startswith("4")
    }
    errors = ", ".join(f"{k} {n}" for k, n in r.errors().items()) or "0"
    rss = " | ".join(f"{minute.rss_kib[pid] / 1024:.0f}" for pid in workers)
    return (
        f"| {minute.index} | {r.requests_per_s:,.0f} | {r.result.p50_ms:.1f} "
        f"| {r.result.p99_ms:.1f} | {r.result.requests:,} | {r.count('200'):,} "
        f"| {r.count('201'):,} | {r.count('204'):,} "
        f"| {', '.join(f'{k} {n:,}' for k, n in sorted(refused.items())) or '0'} | {errors} "
        f"| {rss} |"
    )


def _alone_table(soak: Soak) -> list[str]:
    """Each read asked alone after each run: median ms, and the last run against the first."""
    names = list(soak.minutes[0].alone_ms) if soak.minutes else []
    if not names:
        return []
    first, last = soak.minutes[0].alone_ms, soak.minutes[-1].alone_ms
    return [
        f"Each read asked alone after the {_period(soak.config)}'s load, {ALONE_REQUESTS} "
        "requests in turn (median ms):",
        "",
        f"| {_period(soak.config)} | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
        *(
            f"| {m.index} | " + " | ".join(f"{m.alone_ms[n]:.1f}" for n in names) + " |"
            for m in soak.minutes
        ),
        "| last / first | " + " | ".join(f"{last[n] / first[n]:.2f}" for n in names) + " |",
        "",
    ]


def _period(config: Config) -> str:
    return "minute" if config.run_s == 60 else f"run ({config.run_s} s)"


def command(config: Config) -> str:
    return (
        f"BENCH_SOAK_S={config.soak_s} BENCH_SOAK_RUN_S={config.run_s} "
        f"BENCH_SOAK_SAMPLE_S={config.sample_s:g} BENCH_SOAK_WORKERS={config.workers} {COMMAND}"
    )


def report(soak: Soak, facts: Mapping[str, str], criteria: Sequence[Criterion]) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    config = soak.config
    workers = " | ".join(f"RSS worker {n} MiB" for n in range(1, len(soak.workers) + 1))
    lines = [
        f"# SignUpFlow soak, {stamp}",
        "",
        *(f"- {key}: {value}" for key, value in facts.items()),
        f"- command: `{command(config)}`",
        f"- {soak.database}; {len(soak.workers)} workers; {CONNECTIONS} connections; "
        f"{config.runs} wrk runs of {config.run_s} s; memory sampled every "
        f"{config.sample_s:g} s (VmRSS of each worker, the peak of each run shown)",
        f"- load: {READS_PER_WRITE} reads (list events, list people, an event's assignments, the "
        "organisation's assignments) to each write (a volunteer's sign-up or an admin's "
        "assignment, in turn, or the withdrawal of one made before; one sign-up in "
        f"{FULL_EVERY} to a full slot); plan of {soak.plan_size:,} requests, cycled",
        "- load average at end: " + " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "",
        f"| {_period(config)} | requests/s | p50 ms | p99 ms | requests | 200 | 201 | 204 "
        f"| refused | errors | {workers} |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|" + "---:|" * len(soak.workers),
        *(_table_line(m, soak.workers) for m in soak.minutes),
        "",
        *_alone_table(soak),
        "Pass criteria:",
        "",
        *(f"- {'PASS' if c.passed else 'FAIL'}: {c.name}: {c.detail}" for c in criteria),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    config = Config.from_environment()
    facts = start_run()
    print(f"soak: {config.runs} runs of {config.run_s} s, {config.workers} workers", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sf-soak-") as tmp:
        soak = run_soak(config, Path(tmp))
    criteria = verdict(soak)
    raw = asdict(soak)
    raw["criteria"] = [asdict(c) for c in criteria]
    for minute in raw["minutes"]:
        minute["run"].pop("created", None)
    save_report("soak", report(soak, facts, criteria), raw)
    print(f"done in {time.monotonic() - started:.0f} s")
    failed = [c for c in criteria if not c.passed]
    for criterion in failed:
        print(f"FAILED: {criterion.name}: {criterion.detail}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    run(main)
