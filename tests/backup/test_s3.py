from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from signupflow.backup.archive import Backups
from signupflow.backup.errors import BackupNotFound
from signupflow.backup.postgres import Database
from tests.backup.support import POSTGRESQL_PASS_ONLY, AgeKey, backup_settings, fingerprints_of

pytestmark = POSTGRESQL_PASS_ONLY


def test_a_backup_uploaded_to_s3_restores_after_the_local_copy_is_lost(
    tmp_path: Path, key: AgeKey, seeded_url: str, s3_settings: dict[str, object]
) -> None:
    settings = backup_settings(tmp_path / "backups", key, **s3_settings)
    manifest = Backups(settings, seeded_url).create()
    shutil.rmtree(tmp_path / "backups")
    Database.from_url(seeded_url).drop()

    backups = Backups(settings, seeded_url)
    assert [m.name for m in backups.manifests()] == [manifest.name]
    backups.verify(manifest.name, key.identities())
    backups.restore(manifest.name, key.identities(), production=False, force=False)

    assert fingerprints_of(seeded_url) == manifest.tables


def test_an_unknown_backup_is_not_found_locally_or_in_s3(
    tmp_path: Path, key: AgeKey, s3_settings: dict[str, object]
) -> None:
    settings = backup_settings(tmp_path / "backups", key, **s3_settings)
    backups = Backups(settings, "postgresql://u@127.0.0.1:1/x")
    with pytest.raises(BackupNotFound):
        backups.verify("signupflow-x-20200101T000000.000000Z", key.identities())
