from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, text

from harness.postgres import PostgresCluster
from signupflow.backup.archive import Backups, sha256_of
from signupflow.backup.errors import DecryptFailure, IntegrityFailure, Refused
from signupflow.backup.postgres import Database
from signupflow.backup.storage import archive_name, manifest_name
from signupflow.db.models import Base
from tests.backup.support import (
    POSTGRESQL_PASS_ONLY,
    AgeKey,
    fingerprints_of,
    make_key,
    scratch_databases,
)

pytestmark = POSTGRESQL_PASS_ONLY


def test_backup_drop_restore_gives_identical_counts_and_checksums(
    key: AgeKey, backups: Backups, seeded_url: str
) -> None:
    before = fingerprints_of(seeded_url)
    manifest = backups.create()
    assert manifest.tables == before
    assert before["people"].rows >= 30
    Database.from_url(seeded_url).drop()

    restored, safety = backups.restore(
        manifest.name, key.identities(), production=False, force=False
    )

    assert safety is None
    assert restored.name == manifest.name
    assert fingerprints_of(seeded_url) == before


def test_verify_restores_into_a_scratch_database_and_drops_it(
    key: AgeKey, backups: Backups, pg_cluster: PostgresCluster
) -> None:
    manifest = backups.create()
    assert backups.verify(manifest.name, key.identities()).name == manifest.name
    assert scratch_databases(pg_cluster) == []


def test_restore_over_changed_data_takes_a_safety_backup_first(
    key: AgeKey, backups: Backups, seeded_url: str
) -> None:
    manifest = backups.create()
    engine = Database.from_url(seeded_url).engine()
    with engine.begin() as connection:
        connection.execute(Base.metadata.tables["refresh_tokens"].delete())
    changed = fingerprints_of(seeded_url)
    engine.dispose()

    _, safety = backups.restore(manifest.name, key.identities(), production=False, force=False)

    assert safety is not None
    assert safety.tables == changed
    assert fingerprints_of(seeded_url) == manifest.tables


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_tampered_archive_is_refused_before_anything_changes(
    key: AgeKey, backups: Backups, seeded_url: str
) -> None:
    manifest = backups.create()
    archive = backups.local.path(archive_name(manifest.name))
    _flip_byte(archive, archive.stat().st_size // 2)
    with pytest.raises(IntegrityFailure, match="SHA-256"):
        backups.verify(manifest.name, key.identities())
    with pytest.raises(IntegrityFailure):
        backups.restore(manifest.name, key.identities(), production=False, force=False)
    assert fingerprints_of(seeded_url) == manifest.tables


def test_a_truncated_archive_is_refused(key: AgeKey, backups: Backups) -> None:
    manifest = backups.create()
    archive = backups.local.path(archive_name(manifest.name))
    archive.write_bytes(archive.read_bytes()[: manifest.archive_bytes // 2])
    with pytest.raises(IntegrityFailure, match="truncated"):
        backups.verify(manifest.name, key.identities())


def test_altered_ciphertext_with_a_matching_manifest_fails_to_decrypt(
    key: AgeKey, backups: Backups
) -> None:
    manifest = backups.create()
    archive = backups.local.path(archive_name(manifest.name))
    _flip_byte(archive, archive.stat().st_size - 100)
    forged = manifest.to_json().replace(manifest.archive_sha256, sha256_of(archive))
    backups.local.path(manifest_name(manifest.name)).write_text(forged)
    with pytest.raises(DecryptFailure):
        backups.verify(manifest.name, key.identities())


def test_a_backup_encrypted_to_one_key_cannot_be_restored_with_another(
    backups: Backups, seeded_url: str, tmp_path: Path
) -> None:
    manifest = backups.create()
    other = make_key(tmp_path / "other")
    with pytest.raises(DecryptFailure, match="does not match"):
        backups.restore(manifest.name, other.identities(), production=False, force=False)
    assert fingerprints_of(seeded_url) == manifest.tables


def test_restore_in_production_is_refused_without_force(key: AgeKey, backups: Backups) -> None:
    manifest = backups.create()
    with pytest.raises(Refused, match="--force"):
        backups.restore(manifest.name, key.identities(), production=True, force=False)


def test_a_dry_run_checks_the_backup_and_changes_nothing(
    key: AgeKey, backups: Backups, seeded_url: str
) -> None:
    manifest = backups.create()
    Database.from_url(seeded_url).drop()
    backups.restore(manifest.name, key.identities(), production=False, force=False, dry_run=True)
    assert not Database.from_url(seeded_url).exists()


def test_anonymised_restore_replaces_personal_data_and_invalidates_logins(
    key: AgeKey, backups: Backups, seeded_url: str
) -> None:
    manifest = backups.create()
    backups.restore(manifest.name, key.identities(), production=False, force=False, anonymise=True)
    tables = Base.metadata.tables
    engine = Database.from_url(seeded_url).engine()
    with engine.connect() as connection:
        people = connection.execute(
            select(tables["people"].c.id, tables["people"].c.name, tables["people"].c.email)
        ).all()
        users = connection.execute(
            select(tables["users"].c.email, tables["users"].c.password_hash)
        ).all()
        tokens = connection.execute(select(tables["refresh_tokens"])).all()
        pending = connection.execute(select(tables["pending_signups"])).all()
        signup_mails = connection.execute(
            select(tables["notifications"]).where(
                tables["notifications"].c.organisation_id.is_(None)
            )
        ).all()
    engine.dispose()
    assert people
    assert all(
        name == f"Person {pid}" and email == f"person-{pid}@example.invalid"
        for pid, name, email in people
    )
    assert users
    assert all(
        email.endswith("@example.invalid") and not hash_.startswith("$2") for email, hash_ in users
    )
    assert tokens == []
    assert (pending, signup_mails) == ([], [])


def test_a_missing_local_directory_is_not_a_backup(backups: Backups) -> None:
    shutil.rmtree(backups.local.directory, ignore_errors=True)
    assert backups.manifests() == []


def test_restore_refuses_a_database_holding_tables_the_backup_lacks(
    key: AgeKey, backups: Backups, seeded_url: str
) -> None:
    manifest = backups.create()
    engine = Database.from_url(seeded_url).engine()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE from_a_newer_schema (id integer)"))
    engine.dispose()
    with pytest.raises(Refused, match="from_a_newer_schema"):
        backups.restore(manifest.name, key.identities(), production=False, force=False)
