#!/usr/bin/env python3
"""signupflow-logs: the log store's entrypoint, search and retention (docs/logs.md).

    signupflow-logs search --request-id ID [--level error] [--since 2026-12-01T10:00]
                           [--until 2026-12-01T11:00] [--service app] [--text] [--limit N]
    signupflow-logs prune          # compress past days, retention, disk cap (once)
    signupflow-logs serve          # rsyslogd + prune every LOG_PRUNE_INTERVAL_S (the CMD)
    signupflow-logs health         # exit 0 while rsyslogd runs

The store is a directory per UTC day and hour: LOG_DIR/YYYY-MM-DD/HH/<service>.log (one JSON
object a line, made by rsyslog.conf), compressed with zstd into <service>.log[.N].zst once the
hour is over. Search reads only the hours of its window and greps before it parses. It exits
0 when it printed a line, 1 when nothing matched, 2 on bad input. Standard library only, with
Debian's rsyslog, zstd and grep beside it in the image.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LOG_DIR = Path(os.environ.get("LOG_DIR", "/var/log/signupflow"))
RSYSLOG_PID = Path("/run/rsyslogd.pid")
RSYSLOG_CONF = Path("/etc/rsyslog.conf")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HOUR = re.compile(r"^([01]\d|2[0-3])$")
# A past hour's file is compressed once nothing was written to it for this long: rsyslog
# closes a file after 5 idle minutes (rsyslog.conf closeTimeout), so it is not open any more.
QUIET_S = 15 * 60
LEVELS = {
    "trace": 5,
    "debug": 10,
    "info": 20,
    "notice": 25,
    "warn": 30,
    "warning": 30,
    "error": 40,
    "critical": 50,
    "fatal": 50,
    "panic": 50,
    "dpanic": 50,
}
RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SIZE = re.compile(r"^(\d+)([KMGT]?)i?B?$", re.IGNORECASE)


class UsageError(Exception):
    """Bad input: printed as `error: ...`, exit 2."""


# --- parsing input ----------------------------------------------------------------------------


def parse_time(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """An aware UTC datetime from ISO 8601 (`2026-12-01`, `2026-12-01T10:00`, with seconds,
    `Z` or an offset; without one it is UTC) or a duration before now (`90s`, `15m`, `6h`,
    `2d`)."""
    text = text.strip()
    now = now or dt.datetime.now(dt.UTC)
    relative = RELATIVE.match(text)
    if relative:
        return now - dt.timedelta(seconds=int(relative[1]) * UNITS[relative[2]])
    try:
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"cannot read the time {text!r}: use ISO 8601 (2026-12-01T10:00, 2026-12-01, "
            "2026-12-01T10:00:00+01:00; UTC without an offset) or an age (15m, 6h, 2d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_size(text: str) -> int:
    """Bytes from `1048576`, `500M`, `20G`, `20GiB` (powers of 1024)."""
    found = SIZE.match(text.strip())
    if not found:
        raise UsageError(f"cannot read the size {text!r}: use bytes or 500M, 20G")
    return int(found[1]) << (10 * "_KMGT".index(found[2].upper() or "_"))


def level_rank(name: str) -> int:
    try:
        return LEVELS[name.lower()]
    except KeyError:
        raise UsageError(
            f"unknown level {name!r}: choose from debug, info, warning, error, critical"
        ) from None


# --- the store ---------------------------------------------------------------------------------


def day_dirs(root: Path) -> list[tuple[dt.date, Path]]:
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        if entry.is_dir() and DAY.match(entry.name):
            found.append((dt.date.fromisoformat(entry.name), entry))
    return sorted(found)


def hour_dirs(root: Path) -> list[tuple[dt.datetime, Path]]:
    """(start of the hour, its directory), oldest first."""
    found = []
    for day, directory in day_dirs(root):
        for entry in directory.iterdir():
            if entry.is_dir() and HOUR.match(entry.name):
                start = dt.datetime.combine(day, dt.time(int(entry.name)), dt.UTC)
                found.append((start, entry))
    return sorted(found)


def is_log_file(name: str, service: str | None = None) -> bool:
    """<service>.log (being written) or <service>.log[.N].zst (compressed)."""
    stem, dot_log, rest = name.partition(".log")
    if not dot_log or not stem or (service is not None and stem != service):
        return False
    return rest == "" or re.fullmatch(r"(\.\d+)?\.zst", rest) is not None


def hours_for(
    root: Path, since: dt.datetime | None, until: dt.datetime | None, service: str | None
) -> list[tuple[dt.datetime, list[Path]]]:
    """(start of the hour, its files) of the hours that can hold lines in [since, until),
    oldest first: each line is in the file of its own UTC hour, so other hours are never
    read."""
    chosen = []
    for start, directory in hour_dirs(root):
        if since is not None and start + dt.timedelta(hours=1) <= since:
            continue
        if until is not None and start >= until:
            continue
        files = sorted(p for p in directory.iterdir() if is_log_file(p.name, service))
        if files:
            chosen.append((start, files))
    return chosen


def files_for(
    root: Path, since: dt.datetime | None, until: dt.datetime | None, service: str | None
) -> list[Path]:
    """The files that can hold lines in [since, until), oldest hour first."""
    return [path for _, files in hours_for(root, since, until, service) for path in files]


# --- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    request_id: str | None = None
    min_level: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    service: str | None = None

    def needles(self, hour: dt.datetime) -> list[str]:
        """Fixed strings one of which every matching line of the hour starting at `hour`
        contains (for grep -F): the request id as a JSON string, else the levels' fields,
        else the minutes of the window in that hour (none when it covers the whole hour)."""
        if self.request_id is not None:
            return [json.dumps(self.request_id)]
        if self.min_level is not None:
            names = sorted(n for n, r in LEVELS.items() if r >= self.min_level)
            # As services write them: error, ERROR, Error.
            spellings = [s for n in names for s in dict.fromkeys((n, n.upper(), n.title()))]
            return [f'"level"{gap}"{n}"' for n in spellings for gap in (": ", ":")]
        end = hour + dt.timedelta(hours=1)
        since = max(self.since or hour, hour)
        until = min(self.until or end, end)
        if since <= hour and until >= end:
            return []
        minute = since.replace(second=0, microsecond=0)
        prefixes = []
        while minute < until:
            prefixes.append(f"{minute:%Y-%m-%dT%H:%M}")
            minute += dt.timedelta(minutes=1)
        return [f'"time"{gap}"{p}' for p in prefixes for gap in (": ", ":")]

    def matches(self, line: dict[str, object], raw: str, stamp: dt.datetime | None) -> bool:
        """Whether the parsed `line` (`raw` as stored, `stamp` its line_time) is wanted."""
        if self.request_id is not None and json.dumps(self.request_id) not in raw:
            return False
        if self.since is not None and (stamp is None or stamp < self.since):
            return False
        if self.until is not None and (stamp is None or stamp >= self.until):
            return False
        if self.min_level is not None:
            fields = line.get("fields")
            level = fields.get("level") if isinstance(fields, dict) else None
            if not isinstance(level, str) or LEVELS.get(level.lower(), -1) < self.min_level:
                return False
        return True


EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)  # where a line without a time sorts


def line_time(line: dict[str, object]) -> dt.datetime | None:
    """Docker's time of the line (RFC 3339, nanoseconds, UTC), to the microsecond."""
    stamp = line.get("time")
    if not isinstance(stamp, str):
        return None
    found = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,6})?\d*Z$", stamp)
    if not found:
        return None
    return dt.datetime.fromisoformat(found[1] + (found[2] or "") + "+00:00")


def candidate_lines(path: Path, needles: list[str]) -> Iterator[str]:
    """The file's lines that contain one of `needles` (every line without any): decompressed
    by zstd and filtered by grep -F, which read an hour of logs many times faster than
    Python would."""
    compressed = path.name.endswith(".zst")
    if not needles and not compressed:
        with path.open(encoding="utf-8", errors="replace") as stream:
            yield from stream
        return
    # Fixed programs; the path comes from the store's own listing.
    commands = []
    if compressed:
        commands.append(["zstd", "-dcq", "--", str(path)])
    if needles:
        grep = ["grep", "--fixed-strings", "--no-filename"]
        grep += [arg for needle in needles for arg in ("-e", needle)]
        commands.append(grep if compressed else [*grep, "--", str(path)])
    processes: list[subprocess.Popen[bytes]] = []
    for command in commands:
        stdin = processes[-1].stdout if processes else None
        processes.append(subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE))
        if stdin is not None:
            stdin.close()
    output = processes[-1].stdout
    assert output is not None
    try:
        with io.TextIOWrapper(output, encoding="utf-8", errors="replace") as lines:
            yield from lines
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.kill()
            process.wait()
    if compressed and processes[0].returncode != 0:
        print(f"warning: {path} is damaged; read what could be read", file=sys.stderr)


def search(root: Path, query: Query) -> Iterator[tuple[dict[str, object], str]]:
    """Matching lines, in time order within each hour (so in time order)."""
    for start, files in hours_for(root, query.since, query.until, query.service):
        needles = query.needles(start)
        found = []
        for path in files:
            for raw in candidate_lines(path, needles):
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(line, dict):
                    continue
                stamp = line_time(line)
                if query.matches(line, raw, stamp):
                    found.append((stamp or EARLIEST, line, raw.rstrip("\n")))
        found.sort(key=lambda item: item[0])
        yield from ((line, raw) for _, line, raw in found)


def as_text(line: dict[str, object]) -> str:
    fields = line.get("fields")
    fields = fields if isinstance(fields, dict) else {}
    who = f"{line.get('service')}-{line.get('replica') or '?'}"
    level = str(fields.get("level", "-"))
    message = str(fields.get("message", fields.get("msg", line.get("message", "")))).rstrip()
    extra = " ".join(
        f"{key}={fields[key]}"
        for key in ("request_id", "method", "route", "status", "latency_ms")
        if key in fields
    )
    return f"{line.get('time')} {who} {level} {message} {extra}".rstrip()


# --- retention ---------------------------------------------------------------------------------


def log(message: str) -> None:
    print(json.dumps({"level": "info", "logger": "logstore", "message": message}), flush=True)


def warn(message: str) -> None:
    print(json.dumps({"level": "warning", "logger": "logstore", "message": message}), flush=True)


def compress_hour(directory: Path, *, now: float) -> int:
    """Compress the hour's files nobody writes to any more into <service>.log[.N].zst;
    returns how many. A line that arrives for this hour later (a container whose log the
    store reads after an outage) starts a new <service>.log, compressed next time as
    <service>.log.1.zst."""
    # One listing of the hour, which every prune visits (most hours long compressed).
    entries = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    pending = [p for p in entries if p.name.endswith(".log.compressing")]
    for path in entries:
        if path.name.endswith(".partial"):
            path.unlink()
        elif path.name.endswith(".log") and now - path.stat().st_mtime >= QUIET_S:
            # Renamed first: if rsyslog opens the hour's file again it starts a new one.
            target = path.with_name(path.name + ".compressing")
            path.rename(target)
            pending.append(target)
    for source in pending:
        stem = source.name.removesuffix(".compressing")
        destination = directory / f"{stem}.zst"
        index = 0
        while destination.exists():
            index += 1
            destination = directory / f"{stem}.{index}.zst"
        partial = destination.with_name(destination.name + ".partial")
        # zstd -3: a day at 50 requests/s in about 20 s of one core, 20 times smaller
        # (docs/logs.md); gzip -6 took 5 times as long and read back 8 times slower.
        packed = subprocess.run(
            ["zstd", "-q", "-3", "-f", "-o", str(partial), "--", str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        if packed.returncode != 0:
            partial.unlink(missing_ok=True)
            raise OSError(f"zstd {source}: {packed.stderr.strip()}")
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.replace(destination)
        source.unlink()
    return len(pending)


def hour_files(directory: Path) -> list[tuple[int, Path]]:
    """(size, file) of the hour's files, largest first."""
    return sorted(((p.stat().st_size, p) for p in directory.iterdir() if p.is_file()), reverse=True)


def store_size(root: Path) -> int:
    return sum(size for _, d in hour_dirs(root) for size, _ in hour_files(d))


def prune(
    root: Path, *, retention_days: int, max_bytes: int, now: dt.datetime | None = None
) -> list[str]:
    """Delete days older than `retention_days`, compress past hours, then delete (past
    hours) or empty (the current hour's files, which rsyslog holds open) the oldest data until
    the store is under `max_bytes`. Returns what it did, one line each."""
    now = now or dt.datetime.now(dt.UTC)
    current = now.replace(minute=0, second=0, microsecond=0)
    actions = []
    oldest_kept = now.date() - dt.timedelta(days=retention_days)
    for day, directory in day_dirs(root):
        if day < oldest_kept:
            shutil.rmtree(directory)
            actions.append(f"deleted {directory.name} (older than {retention_days} days)")
    hours = hour_dirs(root)
    for start, directory in hours:
        if start < current:
            count = compress_hour(directory, now=now.timestamp())
            if count:
                actions.append(f"compressed {count} file(s) of {directory.parent.name} {start:%H}h")
    # One listing of the store after compression: its total, and what the cap deletes.
    sized = [(start, directory, hour_files(directory)) for start, directory in hours]
    size = sum(freed for _, _, files in sized for freed, _ in files)
    for start, directory, files in sized:
        if size <= max_bytes:
            break
        name = f"{directory.parent.name}/{directory.name}"
        for freed, path in files:
            if size <= max_bytes:
                break
            if start < current:
                path.unlink()
                actions.append(f"disk cap {max_bytes} B: deleted {name}/{path.name}")
            else:
                # rsyslog appends (O_APPEND) to the file it holds open: emptying it frees
                # the space, deleting it would not.
                os.truncate(path, 0)
                actions.append(f"disk cap {max_bytes} B: emptied {name}/{path.name}")
            size -= freed
        if start < current and not any(directory.iterdir()):
            directory.rmdir()
            if not any(directory.parent.iterdir()):
                directory.parent.rmdir()
    return actions


# --- serving -----------------------------------------------------------------------------------


def settings_from_env() -> tuple[int, int, float]:
    try:
        days = int(os.environ.get("LOG_RETENTION_DAYS", "30"))
        interval = float(os.environ.get("LOG_PRUNE_INTERVAL_S", "300"))
    except ValueError as exc:
        raise UsageError(f"LOG_RETENTION_DAYS / LOG_PRUNE_INTERVAL_S: {exc}") from None
    if days < 1 or interval <= 0:
        raise UsageError("LOG_RETENTION_DAYS must be >= 1 and LOG_PRUNE_INTERVAL_S > 0")
    return days, parse_size(os.environ.get("LOG_MAX_BYTES", "20G")), interval


def run_prune(root: Path, days: int, max_bytes: int) -> None:
    for action in prune(root, retention_days=days, max_bytes=max_bytes):
        (warn if action.startswith("disk cap") else log)(action)


def serve(root: Path) -> int:
    """rsyslogd in the foreground, pruned every interval; SIGTERM stops rsyslogd, which writes
    its read positions, so the next start neither repeats nor skips a line."""
    days, max_bytes, interval = settings_from_env()
    root.mkdir(parents=True, exist_ok=True)
    check = subprocess.run(
        ["rsyslogd", "-N1", "-f", str(RSYSLOG_CONF)], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        print(check.stderr, file=sys.stderr)
        return 1
    daemon = subprocess.Popen(["rsyslogd", "-n", "-f", str(RSYSLOG_CONF), "-i", str(RSYSLOG_PID)])
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        daemon.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"store {root}: {days} days, at most {max_bytes} B, pruned every {interval:.0f} s")
    next_prune = time.monotonic()
    while daemon.poll() is None:
        if not stopping and time.monotonic() >= next_prune:
            try:
                run_prune(root, days, max_bytes)
            except OSError as exc:
                warn(f"prune failed: {exc}")
            next_prune = time.monotonic() + interval
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=1)
    code = daemon.returncode
    return 0 if stopping else (code or 1)


def health() -> int:
    try:
        os.kill(int(RSYSLOG_PID.read_text().strip()), 0)
    except (OSError, ValueError):
        print("rsyslogd is not running", file=sys.stderr)
        return 1
    return 0


# --- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signupflow-logs", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=LOG_DIR, help="the store (LOG_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)
    find = commands.add_parser("search", help="print the stored lines that match, oldest first")
    find.add_argument("--request-id", help="lines that carry this request id (X-Request-ID)")
    find.add_argument("--level", help="at least this level: debug, info, warning, error, ...")
    find.add_argument("--since", help="from this time (ISO 8601, UTC by default; or 15m, 6h, 2d)")
    find.add_argument("--until", help="before this time (same forms as --since)")
    find.add_argument("--service", help="one Compose service: app, edge, worker, postgres, ...")
    find.add_argument("--limit", type=int, default=0, help="stop after N lines (0: no limit)")
    find.add_argument("--text", action="store_true", help="one readable line each, not JSON")
    commands.add_parser("prune", help="compress, apply retention and the disk cap once")
    commands.add_parser("serve", help="run rsyslogd and prune periodically")
    commands.add_parser("health", help="exit 0 while rsyslogd runs")
    return parser


def query_from(args: argparse.Namespace) -> Query:
    if not any((args.request_id, args.level, args.since, args.until, args.service)):
        raise UsageError("say what to look for: --request-id, --level, --since/--until, --service")
    if args.request_id is not None and not args.request_id.strip():
        raise UsageError("--request-id is empty")
    if args.service is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", args.service):
        raise UsageError(f"--service {args.service!r} is not a Compose service name")
    if args.limit < 0:
        raise UsageError("--limit must be 0 (no limit) or more")
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    if since and until and until <= since:
        raise UsageError(f"--until ({until:%Y-%m-%dT%H:%M:%SZ}) is not after --since")
    level = level_rank(args.level) if args.level else None
    return Query(args.request_id, level, since, until, args.service)


def print_matches(lines: Iterable[tuple[dict[str, object], str]], *, text: bool, limit: int) -> int:
    printed = 0
    for line, raw in lines:
        print(as_text(line) if text else raw)
        printed += 1
        if limit and printed >= limit:
            break
    return printed


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "search":
            query = query_from(args)
            if not args.dir.is_dir():
                raise UsageError(f"no log store at {args.dir}")
            printed = print_matches(search(args.dir, query), text=args.text, limit=args.limit)
            return 0 if printed else 1
        if args.command == "prune":
            days, max_bytes, _ = settings_from_env()
            run_prune(args.dir, days, max_bytes)
            return 0
        if args.command == "serve":
            return serve(args.dir)
        return health()
    except UsageError as exc:
        print(f"signupflow-logs: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `search ... | head`: the reader has what it wanted.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
