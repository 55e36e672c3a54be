"""`make bench-profile`: where a list request's time goes, before (the code before issue #15)
and after, under wrk at 64 connections, sampled by py-spy.

One SQLite database of the standard workload (200 slots filled through the API), one server
worker per version, both served at once with one secret key. For each list endpoint and each
version: a warm-up, then `wrk -t2 -c64` for BENCH_DURATION seconds while
`py-spy record --gil --rate 250 --format raw` samples the worker. `--gil` keeps only the
samples of the thread holding the interpreter lock, so the shares are of the CPU time Python
spent, not of threads waiting for the database or for the lock. The report gives the top frames
by own time (a flame graph's widest leaves) and the inclusive share of the application's own
functions (its widest towers).

Environment: BENCH_DURATION (seconds sampled per endpoint and version, default 15),
BENCH_ENDPOINTS (`list events,list people,org assignments` by default). Needs py-spy (dev
dependencies) and root or ptrace permission. Results in bench/results/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench.reporting import save_report, start_run
from harness.app_server import AppServer, running_server
from harness.baseline import BASELINE_COMMIT, running_baseline_server
from harness.workload import (
    ADMIN_EMAIL,
    SLUG,
    AdminToken,
    Endpoint,
    bench_endpoints,
    fill_slots,
    fresh_database,
    seed,
)
from harness.wrk import run_wrk, wrk_binary, wrk_command

DEFAULT_DURATION_S = 15
DEFAULT_ENDPOINTS = ("list events", "list people", "org assignments")
CONNECTIONS = 64
RATE_HZ = 250
TOP = 15
# Frames of these files are the application's own (inclusive shares).
OWN_CODE = "signupflow/"


@dataclass(frozen=True)
class Profile:
    version: str
    endpoint: str
    requests_per_s: float
    samples: int
    own_time: list[tuple[str, float]]  # frame, share of samples as the innermost frame
    inclusive: list[tuple[str, float]]  # the application's frames, share of samples under them


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy (a dev dependency)")
    return found


def shares(raw: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Samples, own time per frame, and inclusive samples per frame of py-spy's raw output
    (one line per distinct stack: `frame;frame;... count`)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    return total, own, inclusive


def profile(
    version: str, server: AppServer, endpoint: Endpoint, token: str, duration_s: int
) -> Profile:
    url = server.url + endpoint.path
    wrk = wrk_binary() or "wrk"
    warm_up = wrk_command(url, connections=CONNECTIONS, duration_s=2, token=token, wrk=wrk)
    run_wrk(warm_up, duration_s=2)
    with tempfile.TemporaryDirectory(prefix="sf-profile-") as tmp:
        raw = Path(tmp) / "raw.txt"
        record = [
            py_spy(),
            "record",
            "--gil",
            "--nonblocking",
            "--rate",
            str(RATE_HZ),
            "--duration",
            str(duration_s),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--pid",
            str(server.process.pid),  # with one worker, the server serves the requests
        ]
        with subprocess.Popen(
            record, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        ) as spy:
            command = wrk_command(
                url, connections=CONNECTIONS, duration_s=duration_s + 1, token=token, wrk=wrk
            )
            result = run_wrk(command, duration_s=duration_s + 1)[0]
            _, errors = spy.communicate(timeout=duration_s + 60)
        if spy.returncode != 0 or not raw.exists():
            raise SystemExit(f"py-spy failed ({spy.returncode}): {errors.strip()[-500:]}")
        total, own, inclusive = shares(raw)
    if total == 0:
        raise SystemExit(f"py-spy took no sample of {version} {endpoint.name}")
    return Profile(
        version=version,
        endpoint=endpoint.name,
        requests_per_s=result.requests_per_s,
        samples=total,
        own_time=[(frame, n / total) for frame, n in own.most_common(TOP)],
        inclusive=[
            (frame, n / total)
            for frame, n in inclusive.most_common()
            if OWN_CODE in frame and not frame.startswith(("serve ", "run_server", "Graceful"))
        ][:TOP],
    )


def report(profiles: list[Profile], facts: dict[str, str], duration_s: int) -> str:
    lines = ["# SignUpFlow profile under load, before and after", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines += [
        f"- before: git {BASELINE_COMMIT[:7]} (the code before issue #15); after: this checkout",
        f"- SQLite, 1 worker each, `wrk -t2 -c{CONNECTIONS}` for {duration_s} s per endpoint and "
        f"version, `py-spy record --gil --rate {RATE_HZ}` on the worker",
        "",
    ]
    for p in profiles:
        lines += [
            f"## {p.endpoint}, {p.version}: {p.requests_per_s:,.0f} requests/s, "
            f"{p.samples:,} samples",
            "",
            "| own time | frame |",
            "|---:|---|",
            *(f"| {share:.1%} | `{frame}` |" for frame, share in p.own_time),
            "",
            "| inclusive | application frame |",
            "|---:|---|",
            *(f"| {share:.1%} | `{frame}` |" for frame, share in p.inclusive),
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    duration_s = int(os.environ.get("BENCH_DURATION", DEFAULT_DURATION_S))
    names = (
        tuple(n.strip() for n in os.environ.get("BENCH_ENDPOINTS", "").split(",") if n.strip())
        or DEFAULT_ENDPOINTS
    )
    facts = start_run()
    profiles: list[Profile] = []
    env = {"SECRET_KEY": os.urandom(32).hex()}
    with (
        tempfile.TemporaryDirectory(prefix="sf-profile-") as tmp,
        fresh_database("sqlite", Path(tmp)) as url,
        contextlib.ExitStack() as stack,
    ):
        seed(url)
        workdir = Path(tmp)
        servers = {
            "before": stack.enter_context(
                running_baseline_server(url, workdir=workdir, extra_env=env)
            ),
            "after": stack.enter_context(running_server(url, workdir=workdir, extra_env=env)),
        }
        client = stack.enter_context(httpx.Client(base_url=servers["after"].url, timeout=30.0))
        admin = AdminToken(client, email=ADMIN_EMAIL, organisation=SLUG)
        fill_slots(client, admin.valid_for(60))
        endpoints = {e.name: e for e in bench_endpoints(client, admin.valid_for(60))}
        unknown = set(names) - set(endpoints)
        if unknown:
            raise SystemExit(f"BENCH_ENDPOINTS: unknown {sorted(unknown)}")
        for name in names:
            for version, server in servers.items():
                token = admin.valid_for(duration_s + 60)
                profiles.append(profile(version, server, endpoints[name], token, duration_s))
                print(
                    f"{name}, {version}: {profiles[-1].requests_per_s:,.0f} requests/s", flush=True
                )
    raw = {"facts": facts, "profiles": [asdict(p) for p in profiles]}
    save_report("profile", report(profiles, facts, duration_s), raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
