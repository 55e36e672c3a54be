"""`make bench-trust`: the figures of issue #11 (trust hardening), measured from outside.

Real `signupflow serve` processes (1 worker) on 127.0.0.1 over a throwaway PostgreSQL cluster
(or SQLite files), each figure "before" (the protection lifted by configuration, where a
setting can do that) and "after" (the default) in the same run:

1. body: one 50 MiB JSON body to POST /api/v1/auth/login (unauthenticated), with a declared
   Content-Length and chunked; the answer, its time and the server's peak RSS growth, with
   MAX_REQUEST_BODY_BYTES=1073741824 and with the default.
2. sign-up: N sign-ups from one address, back to back, with SIGNUP_REQUESTS_PER_MINUTE=10000
   and with the default; answers, time, and the organisations and pending sign-ups stored.
3. starvation: SOLVER_IN_WORKER=false; organisation B's GET /api/v1/events latency (paced,
   sequential) while idle, while organisation A fires concurrent solves again and again, and
   while N other organisations each fire one solve at once (MAX_CONCURRENT_SOLVES=64 and the
   default). The one-run rule is a unique index, so A's attack has no "before".

Environment: BENCH_DATABASE (`postgresql` or `sqlite`), BENCH_WINDOW (seconds per latency
window, default 15), BENCH_BODY_MB (MiB, default 50), BENCH_SIGNUPS (12), BENCH_ATTACKERS
(A's concurrent solves, 19), BENCH_TENANTS (organisations of the burst, 19), BENCH_PROBE_PER_S
(B's requests per second, 10), BENCH_SOLVE_LIMIT_S (time_limit_s of each solve, 10).
Results are printed and written to bench/results/trust-*.{md,json}.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlalchemy import select as sql_select

from bench.reporting import run, save_report, start_run
from harness.app_server import AppServer, running_server
from harness.memory import RssSampler, tree_rss_kib
from harness.postgres import start_cluster
from signupflow.auth.models import PendingSignUp
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import seed_workload
from signupflow.organisations.models import Organisation
from signupflow.settings import Settings

PASSWORD = "bench-password-not-secret"
LIMITS = Settings.model_fields
# The solved range covers every event of the standard workload (2030-01-06, 100 days).
SOLVE_RANGE = {"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-05-01T00:00:00Z"}
REQUEST_TIMEOUT_S = 60.0
BODY_DEADLINE_S = 120.0
COMMAND = "make bench-trust"


def _default(name: str) -> str:
    return str(LIMITS[name].default)


# server.py lifts the per-user and per-organisation API budgets for throughput benchmarks;
# here they are part of what is measured, so every server runs with the defaults.
DEFAULT_BUDGETS = {
    "API_REQUESTS_PER_MINUTE": _default("api_requests_per_minute"),
    "ORG_API_REQUESTS_PER_MINUTE": _default("org_api_requests_per_minute"),
}


@dataclass(frozen=True)
class Config:
    database: str
    window_s: float
    body_mib: int
    signups: int
    attackers: int
    tenants: int
    probe_per_s: float
    solve_limit_s: float

    @classmethod
    def from_environment(cls) -> Config:
        env = os.environ.get
        config = cls(
            database=env("BENCH_DATABASE", "postgresql"),
            window_s=float(env("BENCH_WINDOW", "15")),
            body_mib=int(env("BENCH_BODY_MB", "50")),
            signups=int(env("BENCH_SIGNUPS", "12")),
            attackers=int(env("BENCH_ATTACKERS", "19")),
            tenants=int(env("BENCH_TENANTS", "19")),
            probe_per_s=float(env("BENCH_PROBE_PER_S", "10")),
            solve_limit_s=float(env("BENCH_SOLVE_LIMIT_S", "10")),
        )
        if config.database not in ("postgresql", "sqlite"):
            raise SystemExit(f"BENCH_DATABASE takes postgresql or sqlite (got {config.database})")
        if min(config.window_s, config.body_mib, config.signups, config.probe_per_s) <= 0:
            raise SystemExit("BENCH_WINDOW, BENCH_BODY_MB, BENCH_SIGNUPS, BENCH_PROBE_PER_S > 0")
        if min(config.attackers, config.tenants) < 1 or not 0 < config.solve_limit_s <= 120:
            raise SystemExit("BENCH_ATTACKERS, BENCH_TENANTS >= 1; 0 < BENCH_SOLVE_LIMIT_S <= 120")
        return config


# ---------------------------------------------------------------------------------------------
# Databases


@contextlib.contextmanager
def database_factory(kind: str, workdir: Path) -> Iterator[tuple[Callable[[str], str], str]]:
    """A function making a fresh, migrated database by name, and the server's version."""
    if kind == "sqlite":
        import sqlite3

        def sqlite_database(name: str) -> str:
            return _migrated(f"sqlite:///{workdir / f'{name}.db'}")

        yield sqlite_database, f"SQLite {sqlite3.sqlite_version}"
        return
    cluster = start_cluster()
    if cluster is None:
        raise SystemExit(
            "PostgreSQL server binaries (initdb) are not installed; "
            "install postgresql or set BENCH_DATABASE=sqlite"
        )
    try:
        version = subprocess_version(cluster.url(driver="postgresql"))

        def postgres_database(name: str) -> str:
            return _migrated(cluster.create_database(name))

        yield postgres_database, f"PostgreSQL {version}"
    finally:
        cluster.destroy()


def subprocess_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def _settings(url: str) -> Settings:
    # bcrypt rounds 4 for the seeded admins only: their logins are set-up, not measured.
    return Settings(
        _env_file=None, app_env="test", database_url=url, bcrypt_rounds=4, load_demo=False
    )


def _migrated(url: str) -> str:
    engine = make_engine(_settings(url))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url


def seed_organisations(url: str, organisations: list[tuple[str, bool]]) -> float:
    """(slug, standard) pairs: the standard workload, or a small one (10 people, 5 events).
    Returns the seconds it took."""
    started = time.monotonic()
    settings = _settings(url)
    engine = make_engine(settings)
    try:
        for slug, standard in organisations:
            small = {} if standard else {"volunteers": 10, "events": 5, "time_off": 0}
            with unit_of_work(make_session_factory(engine)) as session:
                seed_workload(
                    session,
                    settings,
                    slug=slug,
                    admin_email=_admin(slug),
                    password=PASSWORD,
                    **small,  # type: ignore[arg-type]
                )
    finally:
        engine.dispose()
    return time.monotonic() - started


def count_rows(url: str) -> tuple[int, int]:
    """Organisations and pending sign-ups stored."""
    engine = make_engine(_settings(url))
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            organisations = session.scalar(sql_select(func.count()).select_from(Organisation))
            pending = session.scalar(sql_select(func.count()).select_from(PendingSignUp))
    finally:
        engine.dispose()
    return int(organisations or 0), int(pending or 0)


def _admin(slug: str) -> str:
    return f"admin@{slug}.example.org"


# ---------------------------------------------------------------------------------------------
# 1. A large body


@dataclass
class BodyRow:
    setting: str
    framing: str
    answer: str
    seconds: float
    sent_mib: float
    rss_before_mib: float
    rss_peak_mib: float

    @property
    def growth_mib(self) -> float:
        return self.rss_peak_mib - self.rss_before_mib


def large_login_body(size: int) -> bytes:
    """A well-formed JSON login of exactly `size` bytes (the password pads it)."""
    head = b'{"email": "nobody@bench.example.org", "password": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def send_body(port: int, body: bytes, *, chunked: bool) -> tuple[str, float, int]:
    """POST `body` to /api/v1/auth/login over a raw socket, stopping as soon as the server
    answers. The status line, the seconds until the whole answer was read, bytes sent."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
    ).encode()
    piece = 256 * 1024
    started = time.monotonic()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            while sent < len(body) and time.monotonic() - started < BODY_DEADLINE_S:
                if select.select([sock], [], [], 0)[0]:
                    break  # answered before reading it all
                chunk = body[sent : sent + piece]
                framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
                sock.sendall(framed)
                sent += len(chunk)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while time.monotonic() - started < BODY_DEADLINE_S:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
    seconds = time.monotonic() - started
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    status = " ".join(status_line.split(" ")[1:]) or "no answer"
    code = _problem_code(answer.partition(b"\r\n\r\n")[2])
    return (f"{status} {code}".strip(), seconds, sent)


def _problem_code(raw: bytes) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        body = json.loads(raw)
        if isinstance(body, dict):
            if "code" in body:
                return str(body["code"])
            errors = body.get("errors") or body.get("detail")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                return str(errors[0].get("code") or errors[0].get("type") or "")
    return ""


def measure_body(
    config: Config, new_database: Callable[[str], str], workdir: Path
) -> list[BodyRow]:
    url = new_database("trust_body")
    body = large_login_body(config.body_mib * 1024 * 1024)
    rows = []
    settings = {
        "before: MAX_REQUEST_BODY_BYTES=1073741824": {"MAX_REQUEST_BODY_BYTES": "1073741824"},
        f"after: default ({int(_default('max_request_body_bytes')) // 1024} KiB)": {},
    }
    for label, extra in settings.items():
        for chunked in (False, True):
            # A fresh server for each body: memory a process once took is not given back,
            # so a second body on the same process would not show its own growth.
            with running_server(url, workdir=workdir, extra_env=extra | DEFAULT_BUDGETS) as server:
                time.sleep(1.0)  # start-up allocations settle
                before = tree_rss_kib(server.process.pid)
                with RssSampler(server.process.pid) as sampler:
                    answer, seconds, sent = send_body(server.port, body, chunked=chunked)
                    time.sleep(0.5)  # the server may still be releasing what it read
                row = BodyRow(
                    setting=label,
                    framing="chunked" if chunked else "Content-Length",
                    answer=answer,
                    seconds=seconds,
                    sent_mib=sent / 1024 / 1024,
                    rss_before_mib=before / 1024,
                    rss_peak_mib=sampler.peak_kib / 1024,
                )
                rows.append(row)
                print("  " + _body_line(row), flush=True)
    return rows


# ---------------------------------------------------------------------------------------------
# 2. Sign-ups from one address


@dataclass
class SignUpRow:
    setting: str
    sent: int
    answers: dict[str, int]
    seconds: float
    organisations: int
    pending: int


def measure_signups(
    config: Config, new_database: Callable[[str], str], workdir: Path
) -> list[SignUpRow]:
    rows = []
    settings = {
        "before: SIGNUP_REQUESTS_PER_MINUTE=10000": (
            "before",
            {"SIGNUP_REQUESTS_PER_MINUTE": "10000"},
        ),
        f"after: default ({_default('signup_requests_per_minute')} a minute)": ("after", {}),
    }
    for label, (name, extra) in settings.items():
        url = new_database(f"trust_signup_{name}")
        env = extra | DEFAULT_BUDGETS | {"BCRYPT_ROUNDS": _default("bcrypt_rounds")}
        with (
            running_server(url, workdir=workdir, extra_env=env) as server,
            httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client,
        ):
            answers: Counter[str] = Counter()
            started = time.monotonic()
            for i in range(config.signups):
                slug = f"signup-{name}-{i:02d}"
                response = client.post(
                    "/api/v1/auth/signup",
                    json={
                        "organisation_name": f"Sign-up {i}",
                        "slug": slug,
                        "name": "Admin",
                        "email": _admin(slug),
                        "password": PASSWORD,
                    },
                )
                answers[_answer(response)] += 1
            seconds = time.monotonic() - started
        organisations, pending = count_rows(url)
        row = SignUpRow(label, config.signups, dict(answers), seconds, organisations, pending)
        rows.append(row)
        print("  " + _signup_line(row), flush=True)
    return rows


def _answer(response: httpx.Response) -> str:
    code = ""
    if response.status_code >= 400:
        code = _problem_code(response.content)
    return f"{response.status_code} {code}".strip()


# ---------------------------------------------------------------------------------------------
# 3. Starvation


@dataclass
class Probe:
    latencies_ms: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    errors: int = 0

    def between(self, start: float, end: float) -> Probe:
        kept = Probe()
        for (begun, ended), ms in zip(self.spans, self.latencies_ms, strict=True):
            if begun < end and ended > start:
                kept.latencies_ms.append(ms)
                kept.spans.append((begun, ended))
        return kept

    def summary(self) -> dict[str, float]:
        values = sorted(self.latencies_ms)
        if not values:
            return {"requests": 0, "p50": 0.0, "p99": 0.0, "max": 0.0, "errors": self.errors}
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return {
            "requests": len(values),
            "p50": statistics.median(values),
            "p99": p99,
            "max": values[-1],
            "errors": self.errors,
        }


@dataclass
class StarvationRow:
    case: str
    setting: str
    probe: dict[str, float]
    attack: dict[str, int]
    note: str = ""


def probe_latency(
    base_url: str, token: str, until: float, per_s: float, stop: threading.Event
) -> Probe:
    """B's sequential GET /api/v1/events, one every 1/per_s seconds (sooner never; later
    when the previous answer took longer), until `until`. Errors: non-200 or no answer."""
    probe = Probe()
    interval = 1.0 / per_s
    with httpx.Client(
        base_url=base_url, timeout=REQUEST_TIMEOUT_S, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        next_at = time.monotonic()
        while not stop.is_set() and time.monotonic() < until:
            time.sleep(max(0.0, next_at - time.monotonic()))
            begun = time.monotonic()
            try:
                ok = client.get("/api/v1/events?limit=50").status_code == 200
            except httpx.TransportError:
                ok = False
            ended = time.monotonic()
            if ok:
                probe.latencies_ms.append((ended - begun) * 1000)
                probe.spans.append((begun, ended))
            else:
                probe.errors += 1
            next_at = begun + interval
    return probe


def _solve(client: httpx.Client, token: str, limit_s: float) -> str:
    try:
        response = client.post(
            "/api/v1/schedules/solve",
            json=SOLVE_RANGE | {"time_limit_s": limit_s},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.TransportError as error:
        return f"transport error {type(error).__name__}"
    return _answer(response)


def login(client: httpx.Client, slug: str) -> str:
    response = client.post(
        "/api/v1/auth/login",
        json={"email": _admin(slug), "password": PASSWORD, "organisation": slug},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _with_probe(
    server: AppServer,
    b_token: str,
    config: Config,
    stop: threading.Event,
    during: Callable[[float], Any],
) -> tuple[Probe, Any]:
    """Run B's probe for the window while `during(window_end)` runs in this thread."""
    until = time.monotonic() + config.window_s
    result: dict[str, Probe] = {}

    def run_probe() -> None:
        result["probe"] = probe_latency(server.url, b_token, until, config.probe_per_s, stop)

    thread = threading.Thread(target=run_probe, daemon=True)
    thread.start()
    outcome = during(until)
    thread.join()
    return result["probe"], outcome


def attack(
    server: AppServer, token: str, config: Config, until: float, stop: threading.Event
) -> Counter[str]:
    """A's `attackers` concurrent solves, each fired again as soon as it is answered, until
    `until`."""
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def attacker() -> None:
        with httpx.Client(
            base_url=server.url, timeout=REQUEST_TIMEOUT_S + config.solve_limit_s
        ) as client:
            while not stop.is_set() and time.monotonic() < until:
                answer = _solve(client, token, config.solve_limit_s)
                with lock:
                    answers[answer] += 1

    threads = [threading.Thread(target=attacker, daemon=True) for _ in range(config.attackers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def burst(
    server: AppServer, tokens: list[str], config: Config
) -> tuple[Counter[str], float, float]:
    """One solve per organisation, all released at once; answers, first send, last answer."""
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    gate = threading.Barrier(len(tokens) + 1)
    last = [0.0]

    def tenant(token: str) -> None:
        with httpx.Client(
            base_url=server.url, timeout=REQUEST_TIMEOUT_S + config.solve_limit_s
        ) as client:
            gate.wait()
            answer = _solve(client, token, config.solve_limit_s)
            with lock:
                answers[answer] += 1
                last[0] = max(last[0], time.monotonic())

    threads = [threading.Thread(target=tenant, args=(t,), daemon=True) for t in tokens]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the probe's first requests see the server idle
    started = time.monotonic()
    gate.wait()
    for thread in threads:
        thread.join()
    return answers, started, last[0]


def measure_starvation(
    config: Config, new_database: Callable[[str], str], workdir: Path, stop: threading.Event
) -> tuple[list[StarvationRow], float]:
    url = new_database("trust_starvation")
    tenants = [f"tenant-{i:02d}" for i in range(1, config.tenants + 1)]
    print(f"  seeding A (standard), B (10 people, 5 events), {len(tenants)} tenants (standard)")
    seeded_s = seed_organisations(
        url, [("org-a", True), ("org-b", False)] + [(t, True) for t in tenants]
    )
    print(f"  seeded in {seeded_s:.1f} s", flush=True)
    rows: list[StarvationRow] = []
    in_request = {"SOLVER_IN_WORKER": "false"} | DEFAULT_BUDGETS
    cap = _default("max_concurrent_solves")
    for label, extra in (
        ("before: MAX_CONCURRENT_SOLVES=64", {"MAX_CONCURRENT_SOLVES": "64"}),
        (f"after: default (MAX_CONCURRENT_SOLVES={cap})", {}),
    ):
        with running_server(url, workdir=workdir, extra_env=in_request | extra) as server:
            rows += _starvation_cases(server, label, tenants, config, stop)
    return rows, seeded_s


def _starvation_cases(
    server: AppServer, label: str, tenants: list[str], config: Config, stop: threading.Event
) -> list[StarvationRow]:
    """(a) and (b) on the default server only; (c) on both."""
    rows: list[StarvationRow] = []
    after = label.startswith("after")
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client:
        b_token = login(client, "org-b")
        tenant_tokens = [login(client, t) for t in tenants]
        a_token = login(client, "org-a")
    if after:
        probe, _ = _with_probe(server, b_token, config, stop, lambda _until: None)
        rows.append(StarvationRow("(a) B alone", label, probe.summary(), {}))
        print("  " + _starvation_line(rows[-1]), flush=True)
    probe, (answers, started, last) = _with_probe(
        server, b_token, config, stop, lambda _until: burst(server, tenant_tokens, config)
    )
    during = probe.between(started, last).summary()
    rows.append(
        StarvationRow(
            f"(c) {len(tenants)} organisations solve at once",
            label,
            probe.summary(),
            dict(answers),
            note=(
                f"all answered in {last - started:.1f} s; B meanwhile: "
                f"{during['requests']:.0f} requests, p50 {during['p50']:.0f} ms, "
                f"max {during['max']:.0f} ms"
            ),
        )
    )
    print("  " + _starvation_line(rows[-1]), flush=True)
    if after:
        probe, answers = _with_probe(
            server, b_token, config, stop, lambda end: attack(server, a_token, config, end, stop)
        )
        rows.append(
            StarvationRow(
                f"(b) A fires {config.attackers} solves, again when answered",
                label,
                probe.summary(),
                dict(answers),
                note="no before: the one-run rule is a unique index",
            )
        )
        print("  " + _starvation_line(rows[-1]), flush=True)
    return rows


# ---------------------------------------------------------------------------------------------
# Report


def _body_line(row: BodyRow) -> str:
    return (
        f"| {row.setting} | {row.framing} | {row.answer} | {row.seconds:.2f} | {row.sent_mib:.1f} "
        f"| {row.rss_before_mib:.0f} | {row.rss_peak_mib:.0f} | {row.growth_mib:+.0f} |"
    )


def _counts(answers: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(answers.items())) or "-"


def _signup_line(row: SignUpRow) -> str:
    return (
        f"| {row.setting} | {row.sent} | {_counts(row.answers)} | {row.seconds:.2f} "
        f"| {row.organisations} | {row.pending} |"
    )


def _starvation_line(row: StarvationRow) -> str:
    p = row.probe
    return (
        f"| {row.case} | {row.setting} | {p['requests']:.0f} | {p['p50']:.1f} | {p['p99']:.1f} "
        f"| {p['max']:.1f} | {p['errors']:.0f} | {_counts(row.attack)} | {row.note} |"
    )


def report(
    config: Config,
    facts: dict[str, str],
    database: str,
    body: list[BodyRow],
    signups: list[SignUpRow],
    starvation: list[StarvationRow],
    seeded_s: float,
) -> str:
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# SignUpFlow trust benchmark (issue #11), {started}", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items() if key != "wrk"]
    lines += [
        f"- database: {database}",
        "- load average at end: " + " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        f"- command: `{_command(config)}`",
        "- servers: `APP_ENV=test LOAD_DEMO=false DATABASE_URL=... signupflow serve --host "
        "127.0.0.1 --port $PORT --workers 1`, default API budgets "
        f"(API_REQUESTS_PER_MINUTE={DEFAULT_BUDGETS['API_REQUESTS_PER_MINUTE']}, "
        f"ORG_API_REQUESTS_PER_MINUTE={DEFAULT_BUDGETS['ORG_API_REQUESTS_PER_MINUTE']}); "
        "the client runs on the same cores",
        "",
    ]
    if body:
        lines += [
            f"## 1. One {config.body_mib} MiB JSON body to POST /api/v1/auth/login",
            "",
            "Raw socket, stops sending once the server answers; time until the whole answer "
            "was read; RSS of the server process (and children), before and at its peak "
            "(sampled every 5 ms, and VmHWM); a fresh server per row.",
            "",
            "| server setting | framing | answer | seconds | MiB sent | RSS before MiB "
            "| peak RSS MiB | growth MiB |",
            "|---|---|---|---:|---:|---:|---:|---:|",
            *(_body_line(r) for r in body),
            "",
        ]
    if signups:
        lines += [
            f"## 2. {config.signups} sign-ups from one address, back to back",
            "",
            "POST /api/v1/auth/signup, distinct slugs and e-mail addresses, one client, "
            "BCRYPT_ROUNDS=12 (the production minimum); organisations and pending sign-ups "
            "counted in the database afterwards.",
            "",
            "| server setting | sent | answers | seconds | organisations | pending sign-ups |",
            "|---|---:|---|---:|---:|---:|",
            *(_signup_line(r) for r in signups),
            "",
        ]
    if starvation:
        lines += [
            "## 3. Solves in requests and another organisation's latency",
            "",
            f"SOLVER_IN_WORKER=false. A and {config.tenants} tenants hold the standard workload "
            "(200 people, 50 events, 200 slots), B 10 people and 5 events; seeded in "
            f"{seeded_s:.0f} s. B: sequential GET /api/v1/events?limit=50, "
            f"{config.probe_per_s:g} a second, for {config.window_s:g} s (errors: non-200 or "
            f"no answer). Solves: the whole period, time_limit_s={config.solve_limit_s:g}.",
            "",
            "| case | server setting | B requests | B p50 ms | B p99 ms | B max ms | B errors "
            "| solve answers | note |",
            "|---|---|---:|---:|---:|---:|---:|---|---|",
            *(_starvation_line(r) for r in starvation),
            "",
        ]
    return "\n".join(lines)


def _command(config: Config) -> str:
    settings = (
        f"BENCH_DATABASE={config.database} BENCH_WINDOW={config.window_s:g} "
        f"BENCH_BODY_MB={config.body_mib} BENCH_SIGNUPS={config.signups} "
        f"BENCH_ATTACKERS={config.attackers} BENCH_TENANTS={config.tenants} "
        f"BENCH_PROBE_PER_S={config.probe_per_s:g} BENCH_SOLVE_LIMIT_S={config.solve_limit_s:g}"
    )
    return f"{settings} {COMMAND}"


def main() -> int:
    config = Config.from_environment()
    facts = start_run(needs_wrk=False)
    stop = threading.Event()
    body: list[BodyRow] = []
    signups: list[SignUpRow] = []
    starvation: list[StarvationRow] = []
    seeded_s = 0.0
    database = config.database
    started = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="sf-trust-") as tmp,
            database_factory(config.database, Path(tmp)) as (new_database, database),
        ):
            try:
                print("1. body", flush=True)
                body = measure_body(config, new_database, Path(tmp))
                print("2. sign-up", flush=True)
                signups = measure_signups(config, new_database, Path(tmp))
                print("3. starvation", flush=True)
                starvation, seeded_s = measure_starvation(config, new_database, Path(tmp), stop)
            finally:
                stop.set()  # the client threads end before their servers are stopped
    finally:
        if body or signups or starvation:
            text = report(config, facts, database, body, signups, starvation, seeded_s)
            raw = {
                "facts": facts,
                "config": asdict(config),
                "database": database,
                "body": [asdict(r) for r in body],
                "signups": [asdict(r) for r in signups],
                "starvation": [asdict(r) for r in starvation],
            }
            save_report("trust", text, raw)
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    run(main)
