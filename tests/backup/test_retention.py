from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from signupflow.backup.archive import Backups, Manifest
from signupflow.backup.retention import expired
from signupflow.backup.storage import manifest_name
from tests.backup.support import AgeKey, backup_settings, s3_client

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def daily(count: int, *, start_days_ago: int = 0) -> list[tuple[str, datetime]]:
    return [(f"b{day:03d}", NOW - timedelta(days=day)) for day in range(start_days_ago, count)]


def test_backups_older_than_the_retention_period_are_deleted() -> None:
    names = expired(daily(40), now=NOW, max_age_days=30, keep_last=7)
    assert names == [f"b{day:03d}" for day in range(31, 40)]


def test_a_backup_exactly_at_the_cutoff_is_kept() -> None:
    assert "b030" not in expired(daily(40), now=NOW, max_age_days=30, keep_last=7)


def test_the_newest_backups_are_kept_however_old() -> None:
    stale = daily(100, start_days_ago=60)
    names = expired(stale, now=NOW, max_age_days=30, keep_last=7)
    assert names == [f"b{day:03d}" for day in range(67, 100)]


def test_nothing_is_deleted_when_there_are_no_more_than_keep_last() -> None:
    assert expired(daily(7, start_days_ago=0)[:7], now=NOW, max_age_days=1, keep_last=7) == []


def test_input_order_does_not_matter() -> None:
    backups = daily(40)
    assert expired(reversed(backups), now=NOW, max_age_days=30, keep_last=7) == expired(
        backups, now=NOW, max_age_days=30, keep_last=7
    )


def synthetic_manifest(name: str, created_at: datetime) -> Manifest:
    return Manifest(
        name=name,
        created_at=created_at,
        database="x",
        schema_revision=None,
        app_version="0",
        dump_bytes=0,
        archive_bytes=0,
        archive_sha256="0" * 64,
        recipient="age1...",
        tables={},
    )


def write_backups(directory: Path, days: list[int]) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for day in days:
        name = f"signupflow-x-{day:03d}"
        (directory / manifest_name(name)).write_text(
            synthetic_manifest(name, NOW - timedelta(days=day)).to_json()
        )
        (directory / f"{name}.dump.age").write_bytes(b"archive")
        names.append(name)
    return names


def test_retention_deletes_exactly_the_expired_local_backups(tmp_path: Path, key: AgeKey) -> None:
    directory = tmp_path / "backups"
    write_backups(directory, list(range(0, 45, 3)))
    backups = Backups(backup_settings(directory, key), "postgresql://u@127.0.0.1:1/x")
    deleted = backups.prune(now=NOW)
    assert deleted == [f"signupflow-x-{day:03d}" for day in (33, 36, 39, 42)]
    remaining = sorted(p.name for p in directory.iterdir())
    assert len(remaining) == 2 * 11
    assert not any(name.startswith(tuple(deleted)) for name in remaining)


def test_retention_deletes_exactly_the_expired_s3_backups(
    tmp_path: Path, key: AgeKey, s3_settings: dict[str, object]
) -> None:
    staging = tmp_path / "staging"
    names = write_backups(staging, [0, 10, 20, 31, 32, 40, 50, 60, 70])
    settings = backup_settings(tmp_path / "local", key, backup_keep_last=3, **s3_settings)
    backups = Backups(settings, "postgresql://u@127.0.0.1:1/x")
    assert backups.s3 is not None
    for path in staging.iterdir():
        backups.s3.upload(path)
    deleted = backups.prune(now=NOW)
    assert deleted == names[3:]
    client = s3_client(s3_settings)
    listing = client.list_objects_v2(Bucket=str(s3_settings["backup_s3_bucket"]))
    keys = sorted(item["Key"] for item in listing.get("Contents", []))
    assert keys == sorted(
        f"signupflow/{name}{suffix}"
        for name in names[:3]
        for suffix in (".dump.age", ".manifest.json")
    )
