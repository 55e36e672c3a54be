#!/usr/bin/env python3
"""Backup and WAL-archiving metrics in the Prometheus text format.

Reads `pgbackrest info --output=json` and PostgreSQL's pg_stat_archiver (through psql), and
prints the metrics or writes them atomically for the node exporter's textfile collector.
deploy/monitoring/rules/backups.yml alerts on them. Standard library only, so it runs on the
database host or in the PostgreSQL image without a virtualenv; run it as the postgres user.

Timestamps, not ages, are what the alerts use (`time() - ..._timestamp_seconds`): an age
written to a file freezes when the collector stops, a timestamp keeps ageing. The `_age_seconds`
gauges are for people reading the output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT_S = 60  # > pgBackRest's own archive-timeout/db-timeout for a slow repository

ARCHIVER_QUERY = """
SELECT a.archived_count,
       a.failed_count,
       coalesce(extract(epoch FROM a.last_archived_time), 0),
       coalesce(extract(epoch FROM a.last_failed_time), 0),
       (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
       coalesce((SELECT extract(epoch FROM min(modification)) FROM pg_ls_archive_statusdir()
                 WHERE name LIKE '%.ready'), 0)
FROM pg_stat_archiver a
"""


@dataclass(frozen=True)
class Metric:
    name: str
    help: str
    kind: str
    samples: tuple[tuple[dict[str, str], float], ...]


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in sorted(labels.items())
    )
    return "{" + ",".join(escaped) + "}"


def render(metrics: Sequence[Metric]) -> str:
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            number = ("+Inf" if value > 0 else "-Inf") if math.isinf(value) else f"{value:.17g}"
            lines.append(f"{metric.name}{_labels(labels)} {number}")
    return "\n".join(lines) + "\n"


def backup_metrics(info: list[dict[str, Any]] | None, stanza: str, now: float) -> list[Metric]:
    """Metrics from `pgbackrest info --output=json`; `info` None means the command failed."""
    entry = next((item for item in info or [] if item.get("name") == stanza), None)
    status_code = int(entry["status"]["code"]) if entry else -1
    up = 1.0 if entry is not None and status_code == 0 else 0.0
    last_stop: dict[str, float] = {}
    last_duration: dict[str, float] = {}
    counts: dict[str, int] = {}
    for backup in (entry or {}).get("backup", []):
        if backup.get("error"):
            continue  # a backup with checksum errors is not a good backup
        kind = str(backup["type"])
        counts[kind] = counts.get(kind, 0) + 1
        stop = float(backup["timestamp"]["stop"])
        if stop >= last_stop.get(kind, 0.0):
            last_stop[kind] = stop
            last_duration[kind] = stop - float(backup["timestamp"]["start"])
    newest = max(last_stop.values(), default=0.0)
    base = {"stanza": stanza}
    return [
        Metric(
            "pgbackrest_info_up",
            "1 when `pgbackrest info` answered and the stanza status is ok.",
            "gauge",
            ((base, up),),
        ),
        Metric(
            "pgbackrest_stanza_status_code",
            "pgBackRest stanza status code (0 ok; -1 when info failed).",
            "gauge",
            ((base, float(status_code)),),
        ),
        Metric(
            "pgbackrest_last_backup_timestamp_seconds",
            "Stop time of the newest good backup of each type.",
            "gauge",
            tuple(({**base, "type": kind}, stop) for kind, stop in sorted(last_stop.items())),
        ),
        Metric(
            "pgbackrest_last_backup_duration_seconds",
            "Duration of the newest good backup of each type.",
            "gauge",
            tuple(({**base, "type": k}, d) for k, d in sorted(last_duration.items())),
        ),
        Metric(
            "pgbackrest_backups",
            "Good backups in the repository, by type.",
            "gauge",
            tuple(({**base, "type": kind}, float(n)) for kind, n in sorted(counts.items())),
        ),
        Metric(
            "pgbackrest_last_good_backup_age_seconds",
            "Seconds since the newest good backup of any type ended, at collection time.",
            "gauge",
            ((base, now - newest if newest else float("inf")),),
        ),
    ]


def archiver_metrics(row: Sequence[str] | None, now: float) -> list[Metric]:
    """Metrics from ARCHIVER_QUERY's single row; `row` None means the query failed."""
    if row is None:
        return [
            Metric("pg_archiver_up", "1 when pg_stat_archiver was read.", "gauge", (({}, 0.0),))
        ]
    archived, failed, last_archived, last_failed, pending, oldest_pending = row
    last_archived_ts = float(last_archived)
    return [
        Metric("pg_archiver_up", "1 when pg_stat_archiver was read.", "gauge", (({}, 1.0),)),
        Metric(
            "pg_archiver_archived_total",
            "WAL files archived since the statistics were reset.",
            "counter",
            (({}, float(archived)),),
        ),
        Metric(
            "pg_archiver_failed_total",
            "Failed archive_command runs since the statistics were reset.",
            "counter",
            (({}, float(failed)),),
        ),
        Metric(
            "pg_archiver_last_archived_timestamp_seconds",
            "When the last WAL file was archived (0: never).",
            "gauge",
            (({}, last_archived_ts),),
        ),
        Metric(
            "pg_archiver_last_failed_timestamp_seconds",
            "When archive_command last failed (0: never).",
            "gauge",
            (({}, float(last_failed)),),
        ),
        Metric(
            "pg_archiver_last_archived_age_seconds",
            "Seconds since the last WAL file was archived, at collection time.",
            "gauge",
            (({}, now - last_archived_ts if last_archived_ts else float("inf")),),
        ),
        Metric(
            "pg_archiver_pending_segments",
            "WAL files waiting for archive_command (.ready files).",
            "gauge",
            (({}, float(pending)),),
        ),
        Metric(
            "pg_archiver_oldest_pending_timestamp_seconds",
            "When the oldest WAL file still waiting for archiving became ready (0: none waiting).",
            "gauge",
            (({}, float(oldest_pending)),),
        ),
    ]


def read_backup_info(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    command = [args.pgbackrest, f"--stanza={args.stanza}", "--output=json", "info"]
    if args.config_path:
        command.insert(1, f"--config-path={args.config_path}")
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=True
        )
        info = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as error:
        print(f"pgbackrest info failed: {error}", file=sys.stderr)
        return None
    return info if isinstance(info, list) else None


def read_archiver(args: argparse.Namespace) -> list[str] | None:
    command = [
        args.psql,
        "-XAtq",
        "-F",
        "\t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        args.pg_host,
        "-p",
        str(args.pg_port),
        "-U",
        args.pg_user,
        "-d",
        args.pg_database,
        "-c",
        ARCHIVER_QUERY,
    ]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=True, env=env
        )
    except (OSError, subprocess.SubprocessError) as error:
        print(f"reading pg_stat_archiver failed: {error}", file=sys.stderr)
        return None
    row = done.stdout.rstrip("\n").split("\t")
    return row if len(row) == 6 else None


def collect(args: argparse.Namespace) -> str:
    now = time.time()
    metrics = [
        *backup_metrics(read_backup_info(args), args.stanza, now),
        *archiver_metrics(read_archiver(args), now),
        Metric(
            "pgbackrest_metrics_collected_timestamp_seconds",
            "When this file was written; alerts use it to notice a stopped collector.",
            "gauge",
            (({}, now),),
        ),
    ]
    return render(metrics)


def write_atomically(path: Path, text: str) -> None:
    """The textfile collector must never read a half-written file."""
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(text)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stanza", default="signupflow")
    parser.add_argument("--config-path", help="pgBackRest --config-path (default: its own)")
    parser.add_argument("--pgbackrest", default="pgbackrest")
    parser.add_argument("--psql", default="psql")
    parser.add_argument("--pg-host", default="/var/run/postgresql")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--pg-database", default="postgres")
    parser.add_argument("--output", type=Path, help="textfile-collector file (default: stdout)")
    args = parser.parse_args(argv)
    text = collect(args)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
