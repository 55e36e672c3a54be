"""The log store's retention (`signupflow-logs prune`, run every 5 minutes by the store):
past hours are compressed once quiet, days older than LOG_RETENTION_DAYS are deleted and newer
ones kept, and the disk cap deletes the oldest data first, emptying the current hour's files
only when nothing older is left."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from harness.logstore import load_script, stored_line, write_hour
from tests.logstore.store import run

NOW = dt.datetime(2026, 12, 31, 12, 30, tzinfo=dt.UTC)
HOUR_AGO = NOW.timestamp() - 3600


@pytest.fixture(scope="module")
def logs() -> ModuleType:
    return load_script()


def hour_of(days: int, hours: int = 0) -> str:
    """`days` and `hours` before NOW's hour, as 2026-12-31T12."""
    start = NOW.replace(minute=0) - dt.timedelta(days=days, hours=hours)
    return f"{start:%Y-%m-%dT%H}"


def path_of(root: Path, hour: str, service: str = "app") -> Path:
    day, _, hh = hour.partition("T")
    return root / day / hh / f"{service}.log"


def quiet(path: Path, at: float = HOUR_AGO) -> Path:
    os.utime(path, (at, at))
    return path


def fill(root: Path, hour: str, service: str = "app", count: int = 10) -> Path:
    lines = [
        stored_line(f"{hour}:00:{i:02d}Z", service, request_id=f"{hour}-{i}") for i in range(count)
    ]
    return quiet(write_hour(root, hour, service, lines))


def unpacked(path: Path) -> bytes:
    return subprocess.run(["zstd", "-dcq", str(path)], capture_output=True, check=True).stdout


def test_days_older_than_the_retention_are_deleted_and_newer_kept(
    logs: ModuleType, tmp_path: Path
) -> None:
    for days in (0, 1, 29, 30, 31, 45):
        fill(tmp_path, hour_of(days))
    (tmp_path / "not-a-day").mkdir()
    actions = logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted([hour_of(d)[:10] for d in (0, 1, 29, 30)] + ["not-a-day"])
    assert f"deleted {hour_of(31)[:10]} (older than 30 days)" in actions
    assert f"deleted {hour_of(45)[:10]} (older than 30 days)" in actions


def test_past_hours_are_compressed_once_quiet_and_the_current_hour_never(
    logs: ModuleType, tmp_path: Path
) -> None:
    past = fill(tmp_path, hour_of(0, 1))
    original = past.read_bytes()
    busy = fill(tmp_path, hour_of(0, 2), "worker")
    quiet(busy, NOW.timestamp() - 60)
    current = fill(tmp_path, hour_of(0))
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    assert not past.exists()
    assert unpacked(past.with_name("app.log.zst")) == original
    assert busy.exists(), "a file written in the last 15 minutes may still be open"
    assert current.exists()
    assert not list(tmp_path.glob("*/*/*.compressing")) + list(tmp_path.glob("*/*/*.partial"))

    # A line for that hour read later (after a store outage) goes to a new file, compressed
    # beside the first; search reads both.
    late = [stored_line(f"{hour_of(0, 1)}:59:00Z", request_id="late")]
    quiet(write_hour(tmp_path, hour_of(0, 1), "app", late))
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    assert sorted(p.name for p in past.parent.iterdir()) == ["app.log.1.zst", "app.log.zst"]
    result = run("--dir", str(tmp_path), "search", "--request-id", "late")
    assert result.returncode == 0
    assert '"late"' in result.stdout


def test_an_interrupted_compression_is_finished(logs: ModuleType, tmp_path: Path) -> None:
    path = fill(tmp_path, hour_of(3))
    original = path.read_bytes()
    path.rename(path.with_name("app.log.compressing"))
    (path.parent / "app.log.zst.partial").write_bytes(b"half")
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    assert sorted(p.name for p in path.parent.iterdir()) == ["app.log.zst"]
    assert unpacked(path.with_name("app.log.zst")) == original


def test_the_disk_cap_deletes_the_oldest_hours_first(logs: ModuleType, tmp_path: Path) -> None:
    hours = [hour_of(2), hour_of(1, 5), hour_of(0, 1), hour_of(0)]
    for hour in hours:
        fill(tmp_path, hour, count=200)
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    size = {h: sum(p.stat().st_size for p in path_of(tmp_path, h).parent.iterdir()) for h in hours}
    cap = size[hours[1]] + size[hours[2]] + size[hours[3]]
    actions = logs.prune(tmp_path, retention_days=30, max_bytes=cap, now=NOW)
    oldest = hours[0].replace("T", "/")
    assert actions == [f"disk cap {cap} B: deleted {oldest}/app.log.zst"]
    assert not (tmp_path / hours[0][:10]).exists(), "an emptied day is removed"
    assert all(path_of(tmp_path, h).parent.exists() for h in hours[1:])
    assert logs.store_size(tmp_path) <= cap


def test_the_disk_cap_empties_the_current_hour_when_nothing_older_is_left(
    logs: ModuleType, tmp_path: Path
) -> None:
    current = fill(tmp_path, hour_of(0), count=200)
    fill(tmp_path, hour_of(1), count=5)
    actions = logs.prune(tmp_path, retention_days=30, max_bytes=1000, now=NOW)
    assert [p.name for p in tmp_path.iterdir()] == [hour_of(0)[:10]]
    # Emptied, not deleted: rsyslog keeps writing to the file it holds open.
    assert current.exists()
    assert current.stat().st_size == 0
    assert actions[-1] == f"disk cap 1000 B: emptied {hour_of(0).replace('T', '/')}/app.log"


def test_sizes_read_bytes_and_binary_units(logs: ModuleType) -> None:
    assert logs.parse_size("1048576") == 1 << 20
    assert logs.parse_size("500M") == 500 << 20
    assert logs.parse_size("20G") == 20 << 30
    assert logs.parse_size("20GiB") == 20 << 30
    with pytest.raises(logs.UsageError, match="cannot read the size '20 gigs'"):
        logs.parse_size("20 gigs")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOG_RETENTION_DAYS": "0"}, "LOG_RETENTION_DAYS must be >= 1"),
        ({"LOG_RETENTION_DAYS": "thirty"}, "LOG_RETENTION_DAYS"),
        ({"LOG_MAX_BYTES": "lots"}, "cannot read the size 'lots'"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = run("--dir", str(tmp_path), "prune", env=env)
    assert result.returncode == 2
    assert message in result.stderr
