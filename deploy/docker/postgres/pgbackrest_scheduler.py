#!/usr/bin/env python3
"""The pgBackRest sidecar: stanza, scheduled full/differential backups and metrics.

Runs as the postgres user (uid 999) next to the database container, sharing its PGDATA
volume, its socket directory and the repository volume (a backup reads PGDATA directly). It
  1. waits for PostgreSQL, then runs `stanza-create` (idempotent) and `check`;
  2. takes a full backup at once if the repository holds none (PITR from the first day);
  3. then, daily at PITR_BACKUP_AT (UTC), a full backup on PITR_FULL_WEEKDAY and a
     differential on the other days (or a differential every PITR_INTERVAL_S seconds);
     retention (repo1-retention-*) is applied by pgBackRest at the end of each backup;
  4. every PITR_METRICS_INTERVAL_S seconds runs /usr/local/bin/pgbackrest-metrics
     (deploy/pgbackrest/backup_metrics.py: backup ages, WAL archive age and failures) into
     PITR_METRICS_FILE, and serves that file at :PITR_METRICS_PORT/metrics.
Standard library only; every log line is one JSON object.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

STANZA = os.environ.get("PITR_STANZA", "signupflow")
PG_USER = os.environ.get("PGBACKREST_PG1_USER", "postgres")
BACKUP_AT = os.environ.get("PITR_BACKUP_AT", "02:00")
FULL_WEEKDAY = int(os.environ.get("PITR_FULL_WEEKDAY", "6"))  # Monday 0 ... Sunday 6
INTERVAL_S = float(os.environ.get("PITR_INTERVAL_S", "0"))  # 0: the daily schedule
METRICS_INTERVAL_S = float(os.environ.get("PITR_METRICS_INTERVAL_S", "60"))
METRICS_FILE = Path(
    os.environ.get("PITR_METRICS_FILE", "/var/lib/pgbackrest-metrics/pgbackrest.prom")
)
METRICS_PORT = int(os.environ.get("PITR_METRICS_PORT", "9109"))
SOCKET_DIR = os.environ.get("PITR_PG_HOST", "/var/run/postgresql")
BACKUP_TIMEOUT_S = 12 * 3600
stopping = threading.Event()


def log(event: str, **fields: Any) -> None:
    entry = {"timestamp": datetime.now(UTC).isoformat(), "event": event, **fields}
    print(json.dumps(entry), flush=True)


def pgbackrest(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    try:
        done = subprocess.run(
            ["pgbackrest", f"--stanza={STANZA}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        done = subprocess.CompletedProcess(args, 124, "", f"timed out after {timeout} s")
    log(
        "pgbackrest",
        command=" ".join(args),
        exit_code=done.returncode,
        duration_s=round(time.monotonic() - started, 3),
        output=(done.stdout + done.stderr).strip()[-2000:],
    )
    return done


def wait_for_postgres() -> None:
    while not stopping.is_set():
        ready = subprocess.run(
            ["pg_isready", "--quiet", f"--host={SOCKET_DIR}", f"--username={PG_USER}"],
            timeout=30,
            check=False,
        )
        if ready.returncode == 0:
            return
        stopping.wait(2)


def has_backup() -> bool:
    done = pgbackrest("--output=json", "info", timeout=120)
    if done.returncode != 0:
        return False
    info = json.loads(done.stdout or "[]")
    return any(entry.get("backup") for entry in info)


def collect_metrics() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "/usr/local/bin/pgbackrest-metrics",
            f"--stanza={STANZA}",
            f"--pg-host={SOCKET_DIR}",
            f"--pg-user={PG_USER}",
            f"--output={METRICS_FILE}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        log("metrics_failed", exit_code=done.returncode, output=done.stderr.strip()[-1000:])


def next_backup(now: datetime, last: datetime | None) -> tuple[datetime, str]:
    if INTERVAL_S > 0:
        due = now if last is None else max(now, last + timedelta(seconds=INTERVAL_S))
        return due, "diff"
    hours, minutes = (int(part) for part in BACKUP_AT.split(":"))
    due = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if due <= now:
        due += timedelta(days=1)
    return due, "full" if due.weekday() == FULL_WEEKDAY else "diff"


class Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        try:
            body = METRICS_FILE.read_bytes() if self.path == "/metrics" else None
        except OSError:
            body = b""
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def metrics_loop() -> None:
    while not stopping.is_set():
        collect_metrics()
        stopping.wait(METRICS_INTERVAL_S)


def main() -> None:
    def stop(signum: int, _frame: FrameType | None) -> None:
        log("stopping", signal=signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    METRICS_FILE.parent.mkdir(parents=True, exist_ok=True)
    if METRICS_PORT:
        server = ThreadingHTTPServer(("0.0.0.0", METRICS_PORT), Metrics)  # noqa: S104
        threading.Thread(target=server.serve_forever, daemon=True).start()
    log(
        "started",
        stanza=STANZA,
        schedule=f"every {INTERVAL_S} s"
        if INTERVAL_S
        else f"daily at {BACKUP_AT} UTC, full on weekday {FULL_WEEKDAY}",
    )
    wait_for_postgres()
    while not stopping.is_set() and pgbackrest("stanza-create").returncode != 0:
        stopping.wait(30)  # e.g. the repository is not mounted yet; the metrics say so
    pgbackrest("check", timeout=300)
    threading.Thread(target=metrics_loop, daemon=True).start()
    if not stopping.is_set() and not has_backup():
        pgbackrest("--type=full", "backup", timeout=BACKUP_TIMEOUT_S)
        collect_metrics()
    last: datetime | None = datetime.now(UTC) if INTERVAL_S else None
    while not stopping.is_set():
        due, kind = next_backup(datetime.now(UTC), last)
        log("backup_scheduled", at=due.isoformat(), type=kind)
        if stopping.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
            break
        last = datetime.now(UTC)
        pgbackrest(f"--type={kind}", "backup", timeout=BACKUP_TIMEOUT_S)
        collect_metrics()
    log("stopped")


if __name__ == "__main__":
    main()
