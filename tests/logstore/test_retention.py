"""The log store's retention (`signupflow-logs prune`, run every 5 minutes by the store):
past days are compressed once quiet, days older than LOG_RETENTION_DAYS are deleted and newer
ones kept, and the disk cap deletes the oldest data first, emptying today's files only when
nothing older is left."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from pathlib import Path
from types import ModuleType

import pytest

from tests.logstore.store import load, run, stored_line, write_day

NOW = dt.datetime(2026, 12, 31, 12, 0, tzinfo=dt.UTC)
HOUR_AGO = NOW.timestamp() - 3600


@pytest.fixture(scope="module")
def logs() -> ModuleType:
    return load()


def day_of(offset: int) -> str:
    return (NOW.date() - dt.timedelta(days=offset)).isoformat()


def quiet(path: Path) -> Path:
    os.utime(path, (HOUR_AGO, HOUR_AGO))
    return path


def fill(root: Path, offset: int, service: str = "app", count: int = 10) -> Path:
    day = day_of(offset)
    lines = [stored_line(f"{day}T10:00:{i:02d}Z", service, request_id=f"{day}-{i}") for i in range(count)]
    return quiet(write_day(root, day, service, lines))


def test_days_older_than_the_retention_are_deleted_and_newer_kept(
    logs: ModuleType, tmp_path: Path
) -> None:
    for offset in (0, 1, 29, 30, 31, 45):
        fill(tmp_path, offset)
    (tmp_path / "not-a-day").mkdir()
    actions = logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [day_of(0), day_of(1), day_of(29), day_of(30), "not-a-day"]
    )
    assert f"deleted {day_of(31)} (older than 30 days)" in actions
    assert f"deleted {day_of(45)} (older than 30 days)" in actions


def test_past_days_are_compressed_once_quiet_and_today_never(
    logs: ModuleType, tmp_path: Path
) -> None:
    past = fill(tmp_path, 1)
    original = past.read_bytes()
    busy = write_day(tmp_path, day_of(2), "app", [stored_line(f"{day_of(2)}T23:59:59Z")])
    os.utime(busy, (NOW.timestamp() - 60, NOW.timestamp() - 60))
    today = fill(tmp_path, 0)
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    assert not past.exists()
    assert gzip.decompress(past.with_name("app.log.gz").read_bytes()) == original
    assert busy.exists(), "a file written in the last 15 minutes may still be open"
    assert today.exists()
    assert not list(tmp_path.glob("*/*.compressing")) + list(tmp_path.glob("*/*.partial"))

    # A line for that day read later (after a store outage) goes to a new file, compressed
    # beside the first; search reads both.
    late = write_day(tmp_path, day_of(1), "app", [stored_line(f"{day_of(1)}T23:00:00Z", request_id="late")])
    quiet(late)
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    assert sorted(p.name for p in (tmp_path / day_of(1)).iterdir()) == ["app.log.1.gz", "app.log.gz"]
    result = run("--dir", str(tmp_path), "search", "--request-id", "late")
    assert result.returncode == 0
    assert '"late"' in result.stdout


def test_an_interrupted_compression_is_finished(logs: ModuleType, tmp_path: Path) -> None:
    path = fill(tmp_path, 3)
    original = path.read_bytes()
    path.rename(path.with_name("app.log.compressing"))
    (path.parent / "app.log.gz.partial").write_bytes(b"half")
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    assert sorted(p.name for p in path.parent.iterdir()) == ["app.log.gz"]
    assert gzip.decompress(path.with_name("app.log.gz").read_bytes()) == original


def test_the_disk_cap_deletes_the_oldest_days_first(logs: ModuleType, tmp_path: Path) -> None:
    for offset in (0, 1, 2, 3):
        fill(tmp_path, offset, count=200)
    logs.prune(tmp_path, retention_days=30, max_bytes=1 << 30, now=NOW)
    sizes = {offset: sum(p.stat().st_size for p in (tmp_path / day_of(offset)).iterdir()) for offset in (0, 1, 2, 3)}
    cap = sizes[0] + sizes[1] + sizes[2]
    actions = logs.prune(tmp_path, retention_days=30, max_bytes=cap, now=NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([day_of(0), day_of(1), day_of(2)])
    assert actions == [f"disk cap {cap} B: deleted {day_of(3)}/app.log.gz"]
    assert logs.store_size(tmp_path) <= cap


def test_the_disk_cap_empties_todays_file_when_nothing_older_is_left(
    logs: ModuleType, tmp_path: Path
) -> None:
    today = fill(tmp_path, 0, count=200)
    fill(tmp_path, 1, count=5)
    actions = logs.prune(tmp_path, retention_days=30, max_bytes=1000, now=NOW)
    assert [p.name for p in tmp_path.iterdir()] == [day_of(0)]
    # Emptied, not deleted: rsyslog keeps writing to the file it holds open.
    assert today.exists()
    assert today.stat().st_size == 0
    assert actions[-1] == f"disk cap 1000 B: emptied {day_of(0)}/app.log"


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
def test_bad_settings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run("--dir", str(tmp_path), "prune")
    assert result.returncode == 2
    assert message in result.stderr
