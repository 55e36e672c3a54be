"""`make bench`: the standard workload (shared notes, benchmarks.md) over HTTP, measured by wrk,
before and after issue #15 (Fast reads) in the same run.

Reads. For each database (SQLite, PostgreSQL) a fresh database is seeded through the service
layer, its 200 slots are filled through the API, and PostgreSQL is ANALYZEd. Two real
`signupflow serve` processes then run on it side by side with the same secret key, so one
admin token serves both: "before", the code before issue #15 (harness/baseline.py: commit
cd4a400's own src/ on this interpreter and dependencies, AUTO_MIGRATE=false), and "after", this
checkout. Both run with 1 worker and with one worker per core. Each endpoint is first checked
to answer the same bytes on both (a difference is reported under the table), warmed up on both,
then measured at 1 and at 64 connections, "before" and at once "after", so that the drift of a
busy machine falls on both alike, and that BENCH_ROUNDS times over. An idle server does no work
in this profile (no worker thread), so the one not measured costs nothing. The table shows each
target's median round (by requests/s, with that round's p50 and p99) and the ratio after /
before (requests/s: above 1 is faster; p50 and p99: below 1 is faster), then the requests/s of
every round. Why rounds: this machine's speed drifts by a quarter within minutes (the same
server's CPU time per request went from 2.9 to 4.8 ms between two 10-s runs, docs/benchmarks.md),
so one run each could put a whole ratio on the drift; the shared notes ask to repeat a run
before believing a change under 20 %.

At scale (after PostgreSQL's reads). `make bench-data`'s data set of BENCH_ORGS
standard-workload organisations (built by its own functions: organisation 0 through the service
layer, the rest ORM copies, verified) is copied into a fresh database of a second cluster with
`signupflow db migrate-sqlite` and ANALYZEd. Its servers and the one-organisation database's
run at once, and the lists of its last organisation (org-00999 of 1,000: the highest ids, the
rows written last) are measured turn about with the same lists of the one-organisation
database, before and after; the table gives the ratio 1,000 / 1 (the goal: within 20 %).

Environment (defaults in brackets):
    BENCH_DURATION   seconds per measured run [20]
    BENCH_ROUNDS     turns of every target at every endpoint and connection count [3]
    BENCH_DATABASES  `sqlite,postgresql` [both]
    BENCH_WORKERS    server worker counts [`1,<nproc>`]
    BENCH_ENDPOINTS  endpoint names, e.g. `health,list events` [all]
    BENCH_BASELINE   `1` measures before and after; `0` this checkout alone (no before columns)
    BENCH_ORGS       organisations of the scale data set [1000]; `0` skips it; it needs
                     postgresql in BENCH_DATABASES (its one-organisation figures are the
                     comparison) and a list in BENCH_ENDPOINTS
    BENCH_WRITES     `1` measures self sign-ups and admin assignments at 64 connections on
                     PostgreSQL, before and after (bench/write_bench.py: its own cluster,
                     `nproc` workers, every place counted afterwards; a miscount or an error
                     fails the run); `0` skips them
Results are printed as Markdown and written, with the raw figures as JSON, to bench/results/.

Adding a section (writes, ...): a function that measures and returns a `Section`; `main` calls
it after the others and `Report` prints its lines under its title and keeps its raw figures.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import data_bench
from bench.reporting import run, save_report, start_run
from harness.app_server import AppServer, running_server
from harness.baseline import BASELINE_COMMIT, baseline_source, running_baseline_server
from harness.postgres import start_cluster
from harness.services import ServiceMissing
from harness.workload import (
    ADMIN_EMAIL,
    BENCH_ENDPOINTS,
    DATABASES,
    PASSWORD,
    SLUG,
    AdminToken,
    Endpoint,
    analyze,
    bearer,
    bench_endpoints,
    fill_slots,
    fresh_database,
    seed,
)
from harness.wrk import WrkResult, run_drained, shown

CONNECTIONS = (1, 64)
DEFAULT_DURATION_S = 20
DEFAULT_ROUNDS = 3
DEFAULT_ORGS = 1000
WARM_UP_S = 2  # fills the connection pools and lets every worker start before measuring
SCALE_GOAL = 0.20  # one organisation of 1,000 within 20 % of one organisation alone
CODES = ("before", "after")


@dataclass(frozen=True)
class Config:
    duration_s: int
    databases: tuple[str, ...]
    workers: tuple[int, ...]
    endpoints: tuple[str, ...]
    baseline: bool
    orgs: int
    writes: bool = True
    rounds: int = DEFAULT_ROUNDS

    @property
    def command(self) -> str:
        """The command that repeats this run."""
        return (
            f"BENCH_DURATION={self.duration_s} BENCH_ROUNDS={self.rounds} "
            f"BENCH_DATABASES={','.join(self.databases)} "
            f"BENCH_WORKERS={','.join(map(str, self.workers))} "
            f"BENCH_ENDPOINTS='{','.join(self.endpoints)}' BENCH_BASELINE={int(self.baseline)} "
            f"BENCH_ORGS={self.orgs} BENCH_WRITES={int(self.writes)} make bench"
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return CODES if self.baseline else ("after",)

    @property
    def lists(self) -> tuple[str, ...]:
        """The endpoints measured at scale: one organisation's lists."""
        return tuple(name for name in self.endpoints if name != "health")

    @classmethod
    def from_environment(cls) -> Config:
        env = os.environ
        cores = len(os.sched_getaffinity(0))
        duration = _whole("BENCH_DURATION", env.get("BENCH_DURATION", DEFAULT_DURATION_S), 1)
        databases = _csv(env.get("BENCH_DATABASES")) or DATABASES
        if set(databases) - set(DATABASES):
            raise SystemExit(f"BENCH_DATABASES takes {','.join(DATABASES)} (got {databases})")
        workers = tuple(
            _whole("BENCH_WORKERS", w, 1) for w in _csv(env.get("BENCH_WORKERS"))
        ) or tuple(dict.fromkeys((1, cores)))
        names = _csv(env.get("BENCH_ENDPOINTS")) or BENCH_ENDPOINTS
        if set(names) - set(BENCH_ENDPOINTS):
            raise SystemExit(f"BENCH_ENDPOINTS takes {','.join(BENCH_ENDPOINTS)} (got {names})")
        config = cls(
            duration_s=duration,
            databases=databases,
            workers=workers,
            endpoints=tuple(name for name in BENCH_ENDPOINTS if name in names),
            baseline=_switch("BENCH_BASELINE", env.get("BENCH_BASELINE", "1")),
            orgs=_whole("BENCH_ORGS", env.get("BENCH_ORGS", DEFAULT_ORGS), 0),
            writes=_switch("BENCH_WRITES", env.get("BENCH_WRITES", "1")),
            rounds=_whole("BENCH_ROUNDS", env.get("BENCH_ROUNDS", DEFAULT_ROUNDS), 1),
        )
        if config.writes and "postgresql" not in config.databases:
            raise SystemExit(
                "BENCH_WRITES measures writes on PostgreSQL: add postgresql to BENCH_DATABASES, "
                "or set BENCH_WRITES=0"
            )
        if config.orgs and "postgresql" not in config.databases:
            raise SystemExit(
                "BENCH_ORGS compares with the one-organisation PostgreSQL figures: add "
                "postgresql to BENCH_DATABASES, or set BENCH_ORGS=0"
            )
        if config.orgs and not config.lists:
            raise SystemExit(
                "BENCH_ORGS measures one organisation's lists: name one in BENCH_ENDPOINTS, "
                "or set BENCH_ORGS=0"
            )
        return config


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _switch(name: str, raw: str) -> bool:
    if raw not in {"0", "1"}:
        raise SystemExit(f"{name} is 1 (measure) or 0 (skip) (got {raw!r})")
    return raw == "1"


def _whole(name: str, raw: str | int, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} takes whole numbers (got {raw!r})") from None
    if value < minimum:
        raise SystemExit(f"{name} must be >= {minimum} (got {value})")
    return value


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One measured wrk run."""

    command: str  # as it can be pasted, token and port left out
    result: WrkResult


@dataclass(frozen=True)
class Row:
    database: str
    workers: int
    endpoint: str
    rows: int
    connections: int
    rounds: dict[str, list[Run]]  # by target: "before", "after"; at scale also by data set

    @property
    def runs(self) -> dict[str, Run]:
        """Each target's median round by requests/s (the lower middle of an even count)."""
        return {
            target: sorted(runs, key=lambda run: run.result.requests_per_s)[(len(runs) - 1) // 2]
            for target, runs in self.rounds.items()
        }


@dataclass(frozen=True)
class Login:
    email: str
    organisation: str  # its slug
    password: str


STANDARD_ADMIN = Login(ADMIN_EMAIL, SLUG, PASSWORD)


@dataclass(frozen=True)
class Target:
    """A server to measure, the admin token it accepts and its endpoints by name."""

    server: AppServer
    admin: AdminToken
    endpoints: dict[str, Endpoint]


def start_servers(
    stack: contextlib.ExitStack,
    database_url: str,
    workdir: Path,
    config: Config,
    workers: int,
    admin: Login,
) -> tuple[dict[str, AppServer], AdminToken]:
    """Unless BENCH_BASELINE=0 the baseline's server ("before"), and this checkout's
    ("after"), on one database with one secret key, stopped when `stack` closes; and `admin`'s
    token, which both accept."""
    env = {"SECRET_KEY": os.urandom(32).hex()}
    servers = {}
    if config.baseline:
        servers["before"] = stack.enter_context(
            running_baseline_server(database_url, workdir=workdir, workers=workers, extra_env=env)
        )
    servers["after"] = stack.enter_context(
        running_server(database_url, workdir=workdir, workers=workers, extra_env=env)
    )
    client = stack.enter_context(httpx.Client(base_url=servers["after"].url, timeout=30.0))
    token = AdminToken(
        client, email=admin.email, organisation=admin.organisation, password=admin.password
    )
    return servers, token


def endpoints_by_name(admin: AdminToken) -> dict[str, Endpoint]:
    return {e.name: e for e in bench_endpoints(admin.client, admin.valid_for(60))}


def measure(target: Target, endpoint: Endpoint, *, connections: int, duration_s: int) -> Run:
    """One wrk run of `endpoint` on `target`."""
    url = target.server.url + endpoint.path
    token = target.admin.valid_for(duration_s) if endpoint.authenticated else None
    result, command = run_drained(
        target.admin.client, url, connections=connections, duration_s=duration_s, token=token
    )
    return Run(shown(command).replace(target.server.url, "http://127.0.0.1:$PORT"), result)


def differing_bodies(targets: dict[str, Target], name: str) -> str | None:
    """None when every target answers endpoint `name` with the same bytes (health answers
    its own uptime, so it is not compared); otherwise what differs."""
    if len(targets) < 2 or name == "health":
        return None
    answers = {}
    for label, target in targets.items():
        path = target.endpoints[name].path
        headers = bearer(target.admin.valid_for(60))
        answers[label] = target.admin.client.get(target.server.url + path, headers=headers)
    if {a.status_code for a in answers.values()} == {200} and (
        len({a.content for a in answers.values()}) == 1
    ):
        return None
    return f"{name}: " + ", ".join(
        f"{label} {a.status_code} ({len(a.content):,} bytes)" for label, a in answers.items()
    )


def measure_endpoints(
    targets: dict[str, Target],
    names: tuple[str, ...],
    config: Config,
    *,
    label: tuple[str, int],
    rows: list[Row],
    lines: Callable[[Row], list[str]],
) -> None:
    """Each endpoint of `names` warmed up on every target, then at every connection count on
    every target in turn, `config.rounds` times; `label` is the (database, workers) of the rows
    added, `lines` how one is printed as it comes."""
    database, workers = label
    for name in names:
        for target in targets.values():
            measure(target, target.endpoints[name], connections=64, duration_s=WARM_UP_S)
        for connections in CONNECTIONS:
            rounds: dict[str, list[Run]] = {key: [] for key in targets}
            for _ in range(config.rounds):
                for key, target in targets.items():
                    rounds[key].append(
                        measure(
                            target,
                            target.endpoints[name],
                            connections=connections,
                            duration_s=config.duration_s,
                        )
                    )
            endpoint = next(iter(targets.values())).endpoints[name]
            row = Row(database, workers, name, endpoint.rows, connections, rounds)
            rows.append(row)
            for line in lines(row):
                print("  " + line, flush=True)


def measure_database(config: Config, database: str, workdir: Path, report: Report) -> None:
    """Before and after on the standard workload, per worker count; on PostgreSQL then the
    scale run (BENCH_ORGS) beside this same database."""
    directory = workdir / database
    directory.mkdir()
    with fresh_database(database, directory) as url:
        print(f"{database}: seeding the standard workload", flush=True)
        report.versions[database] = seed(url)
        for index, workers in enumerate(config.workers):
            print(f"{database}: {workers} worker(s), {' and '.join(config.codes)}", flush=True)
            with contextlib.ExitStack() as stack:
                servers, admin = start_servers(
                    stack, url, directory, config, workers, STANDARD_ADMIN
                )
                if index == 0:
                    made = fill_slots(admin.client, admin.valid_for(60))
                    print(f"  filled {made} slots through POST /api/v1/events/{{id}}/assignments")
                    analyze(url)
                endpoints = endpoints_by_name(admin)
                targets = {code: Target(s, admin, endpoints) for code, s in servers.items()}
                for name in config.endpoints:
                    differs = differing_bodies(targets, name)
                    if differs is not None:
                        report.notes.append(
                            f"{database}, {workers} worker(s), bodies differ: {differs}"
                        )
                        print(f"  bodies differ: {differs}", flush=True)
                measure_endpoints(
                    targets,
                    config.endpoints,
                    config,
                    label=(database, workers),
                    rows=report.rows,
                    lines=lambda row: [reads_line(row)],
                )
        if database == "postgresql" and config.orgs:
            measure_scale(config, url, directory, report)


def dataset(orgs: int) -> str:
    return "1 organisation" if orgs == 1 else f"{orgs:,} organisations"


def measure_scale(config: Config, one_org_url: str, workdir: Path, report: Report) -> None:
    """The lists of one organisation of `config.orgs` (make bench-data's data set, copied to
    PostgreSQL) and, at the same time, of the one-organisation database `one_org_url`."""
    directory = workdir / "scale"
    directory.mkdir()
    built = data_bench.Results()
    sqlite_path = directory / "data.db"
    print(f"scale: building {config.orgs:,} organisations (make bench-data's builder)", flush=True)
    data_bench.build_sqlite(sqlite_path, config.orgs, "auto", data_bench.SERVICE_BUDGET_S, built)
    cluster = start_cluster()
    if cluster is None:
        raise ServiceMissing("PostgreSQL server binaries (initdb) are not installed")
    try:
        scale_url = cluster.create_database("signupflow_scale")
        print("scale: signupflow db migrate-sqlite into PostgreSQL", flush=True)
        migrated, copied, _summary = data_bench.migrate_to_postgres(sqlite_path, scale_url)
        sqlite_path.unlink()
        analyze(scale_url)
        slug = data_bench.slug_of(config.orgs - 1)
        report.scale = {
            "organisation measured": f"{slug}, the last (highest ids, rows written last)",
            **dict(built.rows),
            "migrate-sqlite": f"{copied:,} rows copied and verified in {migrated.seconds:.0f} s",
            "then": "ANALYZE; a PostgreSQL cluster of its own, configured as the one above",
        }
        data_sets = {
            dataset(1): (one_org_url, STANDARD_ADMIN),
            dataset(config.orgs): (
                scale_url,
                Login(f"admin@{slug}.example.org", slug, data_bench.PASSWORD),
            ),
        }
        for workers in config.workers:
            print(f"scale: {slug}, {workers} worker(s), {' and '.join(config.codes)}", flush=True)
            with contextlib.ExitStack() as stack:
                targets = {}
                for data_set, (url, login) in data_sets.items():
                    servers, admin = start_servers(stack, url, directory, config, workers, login)
                    endpoints = endpoints_by_name(admin)
                    for code, server in servers.items():
                        targets[f"{code}, {data_set}"] = Target(server, admin, endpoints)
                measure_endpoints(
                    targets,
                    config.lists,
                    config,
                    label=("postgresql", workers),
                    rows=report.scale_rows,
                    lines=lambda row: scale_lines([row], config.orgs),
                )
    finally:
        cluster.destroy()


# --- report ------------------------------------------------------------------------------------


@dataclass
class Section:
    """A part of the report another benchmark adds: Markdown lines under a title, and the
    raw figures kept in the JSON file under that title."""

    title: str
    lines: list[str]
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    config: Config
    facts: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    scale: dict[str, Any] = field(default_factory=dict)
    scale_rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return bool(self.rows or self.scale_rows or self.sections)

    def markdown(self) -> str:
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        config = self.config
        lines = [f"# SignUpFlow HTTP benchmark, {started}", "", f"- command: `{config.command}`"]
        lines += [f"- {key}: {value}" for key, value in self.facts.items()]
        lines += [f"- {name} server: {version}" for name, version in self.versions.items()]
        lines += [
            "- load average at end: " + " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            f"- {config.duration_s} s per run after a {WARM_UP_S} s warm-up at 64 connections, "
            f"{config.rounds} round(s) of every target in turn, each target's median round "
            "shown; wrk and the servers share the machine's cores",
            "- server: `APP_ENV=test LOAD_DEMO=false DATABASE_URL=... signupflow serve "
            "--host 127.0.0.1 --port $PORT --workers $WORKERS` (default pool: 10 + 10 overflow)",
            f"- before: the code before issue #15, git {BASELINE_COMMIT[:7]} (harness/baseline.py; "
            "same interpreter and dependencies, `AUTO_MIGRATE=false`); after: this checkout"
            if config.baseline
            else "- this checkout only (BENCH_BASELINE=0)",
            "",
            "## Reads, before and after" if config.baseline else "## Reads",
            "",
            "ratio: after / before (requests/s: above 1 is faster; latencies: below 1 is faster)."
            if config.baseline
            else "Before columns are empty: BENCH_BASELINE=0.",
            "",
            *READS_HEADER,
            *(reads_line(row) for row in self.rows),
        ]
        if self.scale:
            lines += [
                "",
                f"## One organisation of {config.orgs:,} (PostgreSQL)",
                "",
                *(f"- {what}: {value}" for what, value in self.scale.items()),
                "",
                "Both databases are served at once, same code, same workers: each round runs "
                "the one-organisation database's servers (the standard workload above, "
                f"measured again here for this comparison), then those of {config.orgs:,} "
                "organisations.",
                f"ratio: {config.orgs:,} organisations / 1 organisation; the goal: within "
                f"{SCALE_GOAL:.0%}.",
                "",
                *scale_header(config.orgs),
                *scale_lines(self.scale_rows, config.orgs),
            ]
        if self.notes:
            lines += ["", "Notes:", "", *(f"- {note}" for note in self.notes)]
        for section in self.sections:
            lines += ["", f"## {section.title}", "", *section.lines]
        commands = {run.command for row in self.rows + self.scale_rows for run in row.runs.values()}
        lines += [
            "",
            "wrk commands (`$TOKEN` from POST /api/v1/auth/login as the admin):",
            "",
            *(f"    {command}" for command in sorted(commands)),
            "",
        ]
        return "\n".join(lines)

    def raw(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "facts": self.facts,
            "versions": self.versions,
            "baseline_commit": BASELINE_COMMIT,
            "rows": [asdict(row) for row in self.rows],
            "scale": self.scale,
            "scale_rows": [asdict(row) for row in self.scale_rows],
            "notes": self.notes,
            **{section.title: section.raw for section in self.sections},
        }


_ALIGN = "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
READS_HEADER = (
    "| database | workers | endpoint | rows | connections "
    "| req/s before | req/s after | ratio | p50 ms before | p50 ms after | ratio "
    "| p99 ms before | p99 ms after | ratio | non-2xx | socket errors | req/s by round |",
    _ALIGN,
)


def scale_header(orgs: int) -> tuple[str, str]:
    many = f"{orgs:,} orgs"
    return (
        "| code | workers | endpoint | rows | connections "
        f"| req/s 1 org | req/s {many} | ratio | p50 ms 1 org | p50 ms {many} | ratio "
        f"| p99 ms 1 org | p99 ms {many} | ratio | non-2xx | socket errors | req/s by round |",
        _ALIGN,
    )


def _errors(result: WrkResult) -> str:
    if result.socket_errors == 0:
        return "0"
    return (
        f"connect {result.connect_errors}, read {result.read_errors}, "
        f"write {result.write_errors}, timeout {result.timeouts}"
    )


def _compared(old: WrkResult | None, new: WrkResult) -> list[str]:
    """Requests/s, p50 and p99 of `old` and `new`, each pair with new / old."""
    return [
        *_pair(old.requests_per_s if old else None, new.requests_per_s, 0),
        *_pair(old.p50_ms if old else None, new.p50_ms, 1),
        *_pair(old.p99_ms if old else None, new.p99_ms, 1),
    ]


def _pair(old: float | None, new: float, digits: int) -> list[str]:
    if old is None:
        return ["-", f"{new:,.{digits}f}", "-"]
    ratio = f"{new / old:.2f}" if old else "-"
    return [f"{old:,.{digits}f}", f"{new:,.{digits}f}", ratio]


def _by_round(row: Row, keys: list[str], cell: Callable[[Run], str]) -> str:
    """`cell` of every round of the targets `keys`: one value when all are the same, else per
    target (labelled by what tells the targets apart) in the order measured."""
    cells = {key: [cell(run) for run in row.rounds[key]] for key in keys}
    if len({value for values in cells.values() for value in values}) == 1:
        return next(iter(cells.values()))[0]
    joined = {key: ", ".join(values) for key, values in cells.items()}
    if len(keys) == 1:
        return joined[keys[0]]
    return "; ".join(f"{key.split(', ')[-1]}: {values}" for key, values in joined.items())


def _row_cells(row: Row, old: str | None, new: str) -> list[str]:
    """The cells of `row` comparing its targets `old` (absent: None) and `new`: the median
    rounds' figures, then the errors and the requests/s of every round."""
    keys = [key for key in (old, new) if key is not None]
    median = row.runs
    return [
        str(row.workers),
        row.endpoint,
        str(row.rows),
        str(row.connections),
        *_compared(median[old].result if old else None, median[new].result),
        _by_round(row, keys, lambda run: str(run.result.non_2xx)),
        _by_round(row, keys, lambda run: _errors(run.result)),
        _by_round(row, keys, lambda run: f"{run.result.requests_per_s:,.0f}"),
    ]


def reads_line(row: Row) -> str:
    old = "before" if "before" in row.rounds else None
    return "| " + " | ".join([row.database, *_row_cells(row, old, "after")]) + " |"


def scale_lines(scale_rows: list[Row], orgs: int) -> list[str]:
    """Per code, one organisation of `orgs` beside the one-organisation database, measured
    in the same turn."""
    lines = []
    for row in scale_rows:
        for code in CODES:
            alone, among = f"{code}, {dataset(1)}", f"{code}, {dataset(orgs)}"
            if alone in row.rounds and among in row.rounds:
                cells = [code, *_row_cells(row, alone, among)]
                lines.append("| " + " | ".join(cells) + " |")
    return lines


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    config = Config.from_environment()
    facts = start_run()
    print(
        f"databases {config.databases}, workers {config.workers}, {config.duration_s} s per run, "
        f"{' and '.join(config.codes)}, scale: {config.orgs or 'skipped'}"
    )
    report = Report(config, facts)
    started = time.monotonic()
    failures: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="sf-bench-") as tmp:
            workdir = Path(tmp)
            for database in config.databases:
                measure_database(config, database, workdir, report)
            if config.writes:
                failures = measure_writes_section(config, workdir, report)
    except ServiceMissing as missing:
        print(f"cannot run: {missing}", file=sys.stderr)
        return 1
    finally:
        if report.measured:
            save_report("http", report.markdown(), report.raw())
    print(f"done in {time.monotonic() - started:.0f} s")
    for failure in failures:
        print(f"writes: {failure}", file=sys.stderr)
    return 1 if failures else 0


def measure_writes_section(config: Config, workdir: Path, report: Report) -> list[str]:
    """Self sign-ups and admin assignments at 64 connections on PostgreSQL, before and
    after (bench/write_bench.py); what went wrong, if anything (errors, a miscounted place)."""
    # Imported here: write_bench imports this module's constants.
    from bench.write_bench import measure_writes, raw_figures, report_lines, report_title

    workers = max(config.workers)
    failures = []
    for code in config.codes:
        source = baseline_source() if code == "before" else None
        bench = measure_writes(
            workdir / f"writes-{code}", duration_s=config.duration_s, workers=workers, source=source
        )
        title = f"{report_title(bench)}, {code}"
        report.sections.append(Section(title, report_lines(bench), raw_figures(bench)))
        failures += [f"{code}: {failure}" for failure in bench.failures()]
    return failures


if __name__ == "__main__":
    run(main)
