"""`make bench-logs`: what a day of logs at 50 requests/s costs the log store (docs/logs.md).

One UTC day of the two lines every request leaves (the edge's access line and the app's request
line, shaped like the ones the stack test stores: tests/deploy/operated/test_log_store.py), at
BENCH_LOG_RATE requests/s (default 50) for BENCH_LOG_HOURS hours (default 24), one error line
in a thousand, written as the store writes them (deploy/images/logstore/rsyslog.conf) and
compressed by the store's own code. Measured: bytes per day raw and compressed, the time to
compress, and `signupflow-logs search` (the command operators run, as a process) by request id
over the whole day and over one hour, by level, and by a 5-minute window.

Fails when a request-id search over the day takes more than SEARCH_DAY_LIMIT_S, or a day
compressed takes more than COMPRESSED_DAY_LIMIT_B: the figures docs/logs.md promises.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.reporting import machine_facts, save_report
from harness.logstore import SCRIPT, load_script, rsyslog_json

DAY = dt.date(2026, 12, 1)
SEARCH_DAY_LIMIT_S = 60.0
COMPRESSED_DAY_LIMIT_B = 1 << 30
ROUTES = ("/api/v1/events", "/api/v1/people", "/api/v1/events/{event_id}", "/api/v1/me")

# The lines of one request as the stack test stored them (2026-12-05), with what varies per
# request in {placeholders}.
EDGE = rsyslog_json(
    {
        "time": "@TIME@",
        "service": "edge",
        "replica": "1",
        "container": "a812634dd1b2",
        "stream": "stdout",
        "fields": {
            "level": "info",
            "ts": "@TS@",
            "logger": "http.log.access.log0",
            "msg": "handled request",
            "request": {
                "remote_ip": "203.0.113.@IP@",
                "remote_port": "@PORT@",
                "proto": "HTTP/1.1",
                "method": "GET",
                "host": "signup.example.test",
                "uri": "@URI@",
                "headers": {
                    "Accept-Encoding": ["gzip, deflate, br"],
                    "Accept": ["application/json"],
                    "User-Agent": [
                        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/120.0 Safari/537.36"
                    ],
                    "X-Request-Id": ["@RID@"],
                },
                "tls": {
                    "resumed": False,
                    "version": 772,
                    "cipher_suite": 4865,
                    "proto": "",
                    "server_name": "signup.example.test",
                },
            },
            "user_id": "",
            "duration": "@DURATION@",
            "size": 1234,
            "status": 200,
            "resp_headers": {
                "X-Request-Id": ["@RID@"],
                "Content-Length": ["1234"],
                "X-Frame-Options": ["DENY"],
                "Content-Type": ["application/json"],
                "Cross-Origin-Opener-Policy": ["same-origin"],
                "Permissions-Policy": ["camera=(), microphone=(), geolocation=(), payment=()"],
                "Content-Security-Policy": ["default-src 'none'; frame-ancestors 'none'"],
                "Strict-Transport-Security": ["max-age=31536000; includeSubDomains"],
                "X-Content-Type-Options": ["nosniff"],
                "Referrer-Policy": ["strict-origin-when-cross-origin"],
                "Date": ["@DATE@"],
            },
        },
    }
)
APP = rsyslog_json(
    {
        "time": "@TIME@",
        "service": "app",
        "replica": "@REPLICA@",
        "container": "5e1090bd7528",
        "stream": "stdout",
        "fields": {
            "timestamp": "@STAMP@",
            "level": "@LEVEL@",
            "logger": "signupflow.request",
            "message": "GET @ROUTE@ 200",
            "request_id": "@RID@",
            "method": "GET",
            "route": "@ROUTE@",
            "status": 200,
            "latency_ms": "@LATENCY@",
            "client": "172.31.240.250",
            "organisation_id": "@ORG@",
            "user_id": "@USER@",
        },
    }
)


def template(text: str) -> str:
    """The JSON with its quoted or bare @NAME@ markers turned into str.format fields."""
    text = text.replace("{", "{{").replace("}", "}}")
    for name in ("TS", "DURATION", "LATENCY", "ORG", "USER"):  # numbers: unquoted
        text = text.replace(f'"@{name}@"', f"{{{name.lower()}}}")
    for name in ("TIME", "IP", "PORT", "URI", "RID", "DATE", "REPLICA", "STAMP", "LEVEL", "ROUTE"):
        text = text.replace(f"@{name}@", f"{{{name.lower()}}}")
    return text


def generate(
    store: Path, *, rate: int, hours: int, wanted_hour: int, rng: random.Random, logs: Any
) -> tuple[int, str, int, float]:
    """Writes the day, each hour compressed as the store does once it is over (so the raw day
    never needs the disk at once); returns (raw bytes, a request id of `wanted_hour`, error
    lines, seconds spent compressing)."""
    compress_s = 0.0
    edge, app = template(EDGE), template(APP)
    raw = 0
    errors = 0
    wanted = ""
    for hour in range(hours):
        start = dt.datetime.combine(DAY, dt.time(hour), dt.UTC)
        directory = store / f"{DAY}" / f"{hour:02d}"
        directory.mkdir(parents=True)
        with (directory / "edge.log").open("w") as edges, (directory / "app.log").open("w") as apps:
            for second in range(3600):
                now = start + dt.timedelta(seconds=second)
                stamp = f"{now:%Y-%m-%dT%H:%M:%S}"
                date = f"{now:%a, %d %b %Y %H:%M:%S} GMT"
                edge_lines = []
                app_lines = []
                for _ in range(rate):
                    rid = f"{rng.getrandbits(128):032x}"
                    nanos = rng.randrange(10**9)
                    route = rng.choice(ROUTES)
                    level = "error" if rng.random() < 0.001 else "info"
                    errors += level == "error"
                    app_lines.append(
                        app.format(
                            time=f"{stamp}.{min(nanos + 500000, 10**9 - 1):09d}Z",
                            replica=rng.choice("12"),
                            stamp=f"{stamp}.{nanos // 1000:06d}+00:00",
                            level=level,
                            route=route,
                            rid=rid,
                            latency=round(rng.random() * 80, 2),
                            org=rng.randrange(1, 500),
                            user=rng.randrange(1, 20000),
                        )
                    )
                    edge_lines.append(
                        edge.format(
                            time=f"{stamp}.{nanos:09d}Z",
                            ts=now.timestamp() + nanos / 1e9,
                            ip=rng.randrange(1, 255),
                            port=rng.randrange(30000, 61000),
                            uri=route.replace("{event_id}", str(rng.randrange(1, 10**5))),
                            rid=rid,
                            duration=rng.random() / 10,
                            date=date,
                        )
                    )
                    if hour == wanted_hour and not wanted:
                        wanted = rid
                chunk_a = "\n".join(app_lines) + "\n"
                chunk_e = "\n".join(edge_lines) + "\n"
                apps.write(chunk_a)
                edges.write(chunk_e)
                raw += len(chunk_a) + len(chunk_e)
        began = time.monotonic()
        logs.compress_hour(directory, now=time.time() + logs.QUIET_S)
        compress_s += time.monotonic() - began
    return raw, wanted, errors, compress_s


def search(store: Path, *args: str) -> tuple[float, int]:
    """(seconds, lines printed) of `signupflow-logs search ARGS`."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dir", str(store), "search", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode in (0, 1), result.stderr
    return elapsed, len(result.stdout.splitlines())


def main() -> int:
    rate = int(os.environ.get("BENCH_LOG_RATE", "50"))
    hours = int(os.environ.get("BENCH_LOG_HOURS", "24"))
    logs = load_script()
    rng = random.Random(14)  # test data, not secrets
    last = min(17, hours - 1)  # the hour of the request id searched for
    with tempfile.TemporaryDirectory(prefix="log-bench-") as work:
        store = Path(work) / "store"
        began = time.monotonic()
        raw, wanted, errors, compress_s = generate(
            store, rate=rate, hours=hours, wanted_hour=last, rng=rng, logs=logs
        )
        generated_s = time.monotonic() - began - compress_s
        compressed = logs.store_size(store)
        figures: dict[str, Any] = {
            "rate": rate,
            "hours": hours,
            "requests": rate * 3600 * hours,
            "raw_bytes": raw,
            "compressed_bytes": compressed,
            "generate_s": round(generated_s, 1),
            "compress_s": round(compress_s, 1),
        }
        searches = {
            "request id, whole day": ("--request-id", wanted),
            "request id, its hour": (
                "--request-id",
                wanted,
                "--since",
                f"{DAY}T{last:02d}:00",
                "--until",
                f"{DAY}T{last:02d}:59:59",
            ),
            "level error, whole day": ("--level", "error", "--service", "app"),
            "5 minutes, every line": (
                "--since",
                f"{DAY}T{last:02d}:10",
                "--until",
                f"{DAY}T{last:02d}:15",
            ),
        }
        rows = []
        for name, args in searches.items():
            seconds, lines = search(store, *args)
            figures[name] = {"seconds": round(seconds, 2), "lines": lines}
            rows.append(f"| {name} | `{' '.join(args[:2])} ...` | {seconds:.1f} s | {lines} |")
    per_day = 24 / hours
    day_mib = compressed * per_day / 2**20
    text = "\n".join(
        [
            f"## Log store: a day at {rate} requests/s (`make bench-logs`)",
            "",
            f"{figures['requests']:,} requests ({hours} h), 2 lines each, {errors} error lines.",
            f"Raw: {raw * per_day / 2**30:.2f} GiB/day; zstd -3: {day_mib:.0f} MiB/day "
            f"({raw / compressed:.0f}x), compressed in {compress_s * per_day:.0f} s/day of one "
            f"core; 30 days: {30 * day_mib / 1024:.1f} GiB.",
            "",
            "| search | arguments | time | lines |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
            f"Machine: {machine_facts()}",
        ]
    )
    save_report("logs", text, figures)
    day_search = figures["request id, whole day"]
    failures = []
    if day_search["lines"] != 2:
        failures.append(f"the request id search found {day_search['lines']} lines, not 2")
    if hours == 24 and day_search["seconds"] > SEARCH_DAY_LIMIT_S:
        failures.append(f"a day's request-id search took over {SEARCH_DAY_LIMIT_S} s")
    if compressed * per_day > COMPRESSED_DAY_LIMIT_B:
        failures.append(f"a day compressed is over {COMPRESSED_DAY_LIMIT_B} B")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
