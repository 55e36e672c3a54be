"""`make bench`: the standard workload (shared notes, benchmarks.md) over HTTP, measured by wrk.

For each database (SQLite, PostgreSQL) a fresh database is seeded through the service layer,
its 200 slots are filled through the API, and a real `signupflow serve` process is measured
with 1 worker and with one worker per core, at 1 and 64 connections, per endpoint.

Environment: BENCH_DURATION (seconds per run, default 20), BENCH_DATABASES (`sqlite,postgresql`),
BENCH_WORKERS (`1,<nproc>`), BENCH_ENDPOINTS (names, e.g. `health,list events`; default all).
Results are printed and written to bench/results/.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from sqlalchemy import text

from harness.app_server import AppServer, running_server
from harness.postgres import start_cluster
from harness.wrk import WrkResult, run_wrk, shown, wrk_binary, wrk_command
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import seed_workload
from signupflow.settings import Settings

RESULTS_DIR = Path(__file__).with_name("results")
DATABASES = ("sqlite", "postgresql")
CONNECTIONS = (1, 64)
DEFAULT_DURATION_S = 20
WARM_UP_S = 2  # fills the connection pools and lets every worker start before measuring
SLUG = "bench"
ADMIN_EMAIL = "admin@bench.example.org"
PASSWORD = "bench-password-not-secret"
EVENTS = 50
SLOTS = 200
ENDPOINT_NAMES = ("health", "list events", "list people", "event assignments", "org assignments")


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    rows: int  # items the endpoint returns, checked before it is measured
    authenticated: bool = True


@dataclass(frozen=True)
class Config:
    duration_s: int
    databases: tuple[str, ...]
    workers: tuple[int, ...]
    endpoints: tuple[str, ...]

    @classmethod
    def from_environment(cls) -> Config:
        cores = len(os.sched_getaffinity(0))
        duration = int(os.environ.get("BENCH_DURATION", DEFAULT_DURATION_S))
        databases = _csv(os.environ.get("BENCH_DATABASES")) or DATABASES
        unknown = set(databases) - set(DATABASES)
        if unknown or duration < 1:
            raise SystemExit(
                f"BENCH_DATABASES takes {','.join(DATABASES)} (got {sorted(unknown)}); "
                f"BENCH_DURATION must be >= 1 (got {duration})"
            )
        workers = tuple(int(w) for w in _csv(os.environ.get("BENCH_WORKERS"))) or tuple(
            dict.fromkeys((1, cores))
        )
        names = _csv(os.environ.get("BENCH_ENDPOINTS")) or ENDPOINT_NAMES
        if set(names) - set(ENDPOINT_NAMES):
            raise SystemExit(f"BENCH_ENDPOINTS takes {','.join(ENDPOINT_NAMES)} (got {names})")
        return cls(duration_s=duration, databases=databases, workers=workers, endpoints=names)


@dataclass(frozen=True)
class Row:
    database: str
    workers: int
    endpoint: str
    rows: int
    connections: int
    command: str
    result: WrkResult


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(next(line.split()[1] for line in meminfo.splitlines() if "MemTotal" in line))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    wrk = wrk_binary()
    wrk_version = (
        subprocess.run(
            [wrk, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split("Copyright")[0]
        if wrk
        else "not installed"
    )
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    return {
        "code": f"signupflow {_version('signupflow')}, git {commit or 'unknown'}",
        "load average at start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version.strip(),
        "fastapi": _version("fastapi"),
        "starlette": _version("starlette"),
        "uvicorn": _version("uvicorn"),
        "sqlalchemy": _version("sqlalchemy"),
        "psycopg": _version("psycopg"),
    }


def seed(database_url: str) -> str:
    """Migrate and seed the standard workload; the database server's version."""
    settings = Settings(
        _env_file=None,
        app_env="test",
        database_url=database_url,
        bcrypt_rounds=4,  # the admin's hash only; login speed is not what is measured
        load_demo=False,
    )
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_workload(session, settings, slug=SLUG, admin_email=ADMIN_EMAIL, password=PASSWORD)
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                return str(connection.execute(text("SHOW server_version")).scalar_one())
            return str(connection.execute(text("SELECT sqlite_version()")).scalar_one())
    finally:
        engine.dispose()


class AdminToken:
    """The admin's access token, renewed only when a run could outlast it: logins are
    rate-limited per account, so one per run would soon be refused."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.value = ""
        self.expires_at = 0.0

    def valid_for(self, seconds: float) -> str:
        if self.expires_at - time.monotonic() < seconds + 10:
            response = self.client.post(
                "/api/v1/auth/login",
                json={"email": ADMIN_EMAIL, "password": PASSWORD, "organisation": SLUG},
            )
            response.raise_for_status()
            body = response.json()
            self.value = str(body["access_token"])
            self.expires_at = time.monotonic() + float(body["expires_in"])
        return self.value


def _get(client: httpx.Client, path: str, token: str) -> Any:
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()


def fill_slots(client: httpx.Client, token: str) -> int:
    """Assign someone who holds the role to every open slot, as the admin, through the API.
    People take turns per role, so the assignments spread over the whole organisation."""
    events = _get(client, f"/api/v1/events?limit={EVENTS}", token)["items"]
    people = _get(client, "/api/v1/people?limit=500", token)["items"]
    by_role: dict[str, list[int]] = {}
    for person in people:
        for role in person["roles"]:
            by_role.setdefault(role, []).append(person["id"])
    turn = dict.fromkeys(by_role, 0)
    made = 0
    for event in events:
        serving: set[int] = set()
        for slot in event["slots"]:
            candidates = by_role.get(slot["role"], [])
            for _ in range(slot["open"]):
                for _attempt in range(len(candidates)):
                    person_id = candidates[turn[slot["role"]] % len(candidates)]
                    turn[slot["role"]] += 1
                    if person_id not in serving:
                        break
                else:
                    raise RuntimeError(f"nobody free for {slot['role']} at event {event['id']}")
                response = client.post(
                    f"/api/v1/events/{event['id']}/assignments",
                    json={"person_id": person_id, "role": slot["role"]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.status_code != 201:
                    raise RuntimeError(f"assigning failed: {response.status_code} {response.text}")
                serving.add(person_id)
                made += 1
    return made


def endpoints(client: httpx.Client, token: str) -> list[Endpoint]:
    """The measured endpoints, each checked to answer 200 with the rows it should."""
    first_event = _get(client, "/api/v1/events?limit=1", token)["items"][0]
    candidates = [
        Endpoint("health", "/health", 0, authenticated=False),
        Endpoint("list events", f"/api/v1/events?limit={EVENTS}", EVENTS),
        # 200 of 201 people: the admin is a person of the organisation too.
        Endpoint("list people", "/api/v1/people?limit=200", 200),
        Endpoint(
            "event assignments",
            f"/api/v1/events/{first_event['id']}/assignments",
            len(first_event["slots"]),
        ),
        Endpoint("org assignments", f"/api/v1/assignments?limit={SLOTS}", SLOTS),
    ]
    for endpoint in candidates:
        body = _get(client, endpoint.path, token)
        got = len(body["items"]) if "items" in body else 0
        if got != endpoint.rows:
            raise RuntimeError(f"{endpoint.path} returned {got} rows, expected {endpoint.rows}")
    return candidates


def measure(
    admin: AdminToken, url: str, endpoint: Endpoint, *, connections: int, duration_s: int
) -> tuple[list[str], WrkResult]:
    """One wrk run against `url`; the command (token included) and its result."""
    token = admin.valid_for(duration_s) if endpoint.authenticated else None
    command = wrk_command(
        url, connections=connections, duration_s=duration_s, token=token, wrk=wrk_binary() or "wrk"
    )
    result = run_wrk(command, duration_s=duration_s)[0]
    # wrk stops without waiting for the answers still queued in the server. One request of
    # our own comes back only after them, so the next run starts on an idle server.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    admin.client.get(url, headers=headers).raise_for_status()
    return command, result


def measure_server(
    server: AppServer, database: str, config: Config, *, fill: bool, rows: list[Row]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        admin = AdminToken(client)
        if fill:
            made = fill_slots(client, admin.valid_for(60))
            print(f"  filled {made} slots through POST /api/v1/events/{{id}}/assignments")
        for endpoint in endpoints(client, admin.valid_for(60)):
            if endpoint.name not in config.endpoints:
                continue
            url = server.url + endpoint.path
            measure(admin, url, endpoint, connections=64, duration_s=WARM_UP_S)
            for connections in CONNECTIONS:
                command, result = measure(
                    admin, url, endpoint, connections=connections, duration_s=config.duration_s
                )
                row = Row(
                    database=database,
                    workers=server.workers,
                    endpoint=endpoint.name,
                    rows=endpoint.rows,
                    connections=connections,
                    command=shown(command).replace(server.url, "http://127.0.0.1:$PORT"),
                    result=result,
                )
                rows.append(row)
                print("  " + _table_line(row), flush=True)


@contextlib.contextmanager
def fresh_database(database: str, workdir: Path) -> Iterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    cluster = start_cluster()
    if cluster is None:
        raise SystemExit(
            "PostgreSQL server binaries (initdb) are not installed; "
            "install postgresql or set BENCH_DATABASES=sqlite"
        )
    try:
        yield cluster.create_database("signupflow_bench")
    finally:
        cluster.destroy()


HEADER = (
    "| database | workers | endpoint | rows | connections | requests/s | p50 ms | p99 ms "
    "| requests | non-2xx | socket errors |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
)


def _errors(result: WrkResult) -> str:
    if result.socket_errors == 0:
        return "0"
    return (
        f"connect {result.connect_errors}, read {result.read_errors}, "
        f"write {result.write_errors}, timeout {result.timeouts}"
    )


def _table_line(row: Row) -> str:
    r = row.result
    return (
        f"| {row.database} | {row.workers} | {row.endpoint} | {row.rows} | {row.connections} "
        f"| {r.requests_per_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.requests:,} "
        f"| {r.non_2xx} | {_errors(r)} |"
    )


def report(rows: list[Row], facts: dict[str, str], versions: dict[str, str], config: Config) -> str:
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# SignUpFlow HTTP benchmark, {started}", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines += [f"- {name} server: {version}" for name, version in versions.items()]
    lines.append(
        "- load average at end: " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    )
    lines += [
        f"- {config.duration_s} s per run after a {WARM_UP_S} s warm-up at 64 connections; "
        "wrk and the server share the machine's cores",
        "- server: `APP_ENV=test LOAD_DEMO=false DATABASE_URL=... signupflow serve "
        "--host 127.0.0.1 --port $PORT --workers $WORKERS` (default pool: 10 + 10 overflow)",
        "",
        *HEADER,
        *(_table_line(row) for row in rows),
        "",
        "wrk commands (`$TOKEN` from POST /api/v1/auth/login as the admin):",
        "",
        *(f"    {command}" for command in dict.fromkeys(row.command for row in rows)),
        "",
    ]
    return "\n".join(lines)


def save_report(name: str, text: str, raw: dict[str, Any]) -> None:
    """Print the Markdown report and keep it, with the raw figures as JSON, in bench/results/."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"{name}-{stamp}.md").write_text(text)
    (RESULTS_DIR / f"{name}-{stamp}.json").write_text(json.dumps(raw, indent=2))
    print("\n" + text)
    print(f"written to {RESULTS_DIR / f'{name}-{stamp}.md'}")


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    if wrk_binary() is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 1
    config = Config.from_environment()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGHUP, _stop_on_sigterm)
    facts = machine_facts()
    print("\n".join(f"{key}: {value}" for key, value in facts.items()))
    print(f"databases {config.databases}, workers {config.workers}, {config.duration_s} s per run")
    rows: list[Row] = []
    versions: dict[str, str] = {}
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="sf-bench-") as tmp:
            for database in config.databases:
                workdir = Path(tmp) / database
                workdir.mkdir()
                with fresh_database(database, workdir) as url:
                    print(f"{database}: seeding the standard workload", flush=True)
                    versions[database] = seed(url)
                    for index, workers in enumerate(config.workers):
                        print(f"{database}: {workers} worker(s)", flush=True)
                        with running_server(url, workdir=workdir, workers=workers) as server:
                            measure_server(server, database, config, fill=index == 0, rows=rows)
    finally:
        if rows:
            raw = {"facts": facts, "versions": versions, "rows": [asdict(r) for r in rows]}
            save_report("http", report(rows, facts, versions, config), raw)
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers and databases were stopped", file=sys.stderr)
        sys.exit(130)
