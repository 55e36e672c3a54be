"""What the server checks when it makes a backup, holding only the public key: the dump's table
of contents, the encrypted file's SHA-256 and the copy in S3. Each check is shown failing on a
bad input."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from signupflow.backup import postgres
from signupflow.backup.archive import check_dump, sha256_of
from signupflow.backup.errors import DatabaseFailure, StorageFailure
from signupflow.backup.postgres import Database
from signupflow.backup.storage import S3Store, archive_name, manifest_name
from tests.backup.services import cli_environment, run_backup
from tests.backup.support import (
    POSTGRESQL_PASS_ONLY,
    AgeKey,
    backup_settings,
    fingerprints_of,
    s3_client,
)

pytestmark = POSTGRESQL_PASS_ONLY


def s3_environment(s3_settings: dict[str, object]) -> dict[str, str]:
    return {
        "BACKUP_S3_BUCKET": str(s3_settings["backup_s3_bucket"]),
        "BACKUP_S3_ENDPOINT_URL": str(s3_settings["backup_s3_endpoint_url"]),
        "BACKUP_S3_ACCESS_KEY_ID": "test",
        "BACKUP_S3_SECRET_ACCESS_KEY": "test",
    }


def test_the_server_creates_and_checks_a_backup_with_no_private_key_anywhere(
    tmp_path: Path,
    key: AgeKey,
    seeded_url: str,
    s3_settings: dict[str, object],
) -> None:
    secret = key.identity_file.read_text()
    key.identity_file.unlink()  # only the recipient string is left on this "server"
    home = tmp_path / "home"
    home.mkdir()
    backup_dir = tmp_path / "backups"
    env = cli_environment(
        seeded_url, backup_dir, key.recipient, HOME=str(home), **s3_environment(s3_settings)
    )
    assert not any("IDENTITY" in variable for variable in env)

    created = run_backup("create", env=env)

    assert created.returncode == 0, created.stderr
    name = created.stdout.split()[1]
    manifest = json.loads((backup_dir / manifest_name(name)).read_text())
    assert manifest["format"] == 2
    assert manifest["recipient"] == key.recipient
    assert manifest["archive_sha256"] == sha256_of(backup_dir / archive_name(name))
    assert manifest["dump_tables_listed"] >= len(manifest["tables"]) > 10
    assert manifest["offsite_verified"] is True
    assert manifest["tables"]["people"]["rows"] >= 30
    for path in [*backup_dir.rglob("*"), *home.rglob("*")]:
        if path.is_file():
            assert b"AGE-SECRET-KEY" not in path.read_bytes(), path

    # The key, given later where it lives, opens it.
    key.identity_file.write_text(secret)
    verified = run_backup(
        "verify", name, "--identity-file", str(key.identity_file), "--remove-downloaded", env=env
    )
    assert verified.returncode == 0, verified.stderr


def test_an_archive_whose_contents_lack_a_fingerprinted_table_is_refused(
    tmp_path: Path, seeded_url: str
) -> None:
    database = Database.from_url(seeded_url)
    tables = fingerprints_of(seeded_url)
    plain = tmp_path / "dump"
    with postgres.snapshot(database) as (_, snapshot_id):
        postgres.dump(database, plain, snapshot_id=snapshot_id)
    assert check_dump(database, plain, tables) >= len(tables)

    with psycopg.connect(Database.from_url(seeded_url).libpq_url()) as connection:
        connection.execute("CREATE TABLE created_after_the_fingerprint (id integer)")
    assert "created_after_the_fingerprint" not in postgres.dumped_tables(database, plain)
    with pytest.raises(DatabaseFailure, match="no data for created_after_the_fingerprint"):
        check_dump(database, plain, {**tables, "created_after_the_fingerprint": tables["people"]})

    damaged = tmp_path / "damaged"
    damaged.write_bytes(plain.read_bytes()[:200])
    with pytest.raises(DatabaseFailure, match="pg_restore --list failed"):
        check_dump(database, damaged, tables)


def test_an_object_in_s3_that_differs_from_the_uploaded_file_is_refused(
    tmp_path: Path, key: AgeKey, s3_settings: dict[str, object]
) -> None:
    store = S3Store(backup_settings(tmp_path / "backups", key, **s3_settings))
    client = s3_client(s3_settings)
    bucket = str(s3_settings["backup_s3_bucket"])
    path = tmp_path / "x.manifest.json"
    path.write_text('{"tables": {"people": 30}}\n')
    store.upload(path)
    store.verify_upload(path)

    client.put_object(
        Bucket=bucket, Key=store.prefix + path.name, Body=b'{"tables": {"people": 31}}\n'
    )
    with pytest.raises(StorageFailure, match="differs"):
        store.verify_upload(path)
    client.put_object(Bucket=bucket, Key=store.prefix + path.name, Body=b"{}")
    with pytest.raises(StorageFailure, match="bytes in the bucket"):
        store.verify_upload(path)
    client.delete_object(Bucket=bucket, Key=store.prefix + path.name)
    with pytest.raises(StorageFailure, match="not in the bucket"):
        store.verify_upload(path)
