"""What the backup tests share: the PostgreSQL-only marker, age keys, backup settings, a client
of the test S3 server and the fingerprints a restore is compared by."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pyrage  # type: ignore[import-untyped]
import pytest

from harness.postgres import PostgresCluster
from signupflow.backup.age import Identities, load_identities
from signupflow.backup.postgres import Database
from signupflow.backup.settings import BackupSettings
from signupflow.db.fingerprint import TableFingerprint, fingerprint
from signupflow.db.models import Base
from tests.support.settings import BACKEND

POSTGRESQL_PASS_ONLY = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="pg_dump/pg_restore need PostgreSQL; runs in the TEST_DATABASE=postgresql pass",
)


def s3_client(s3_settings: dict[str, object]) -> Any:
    """A boto3 S3 client of the test server (moto) that `s3_settings` point the backups at."""
    return boto3.client(
        "s3",
        endpoint_url=str(s3_settings["backup_s3_endpoint_url"]),
        region_name="us-east-1",
        aws_access_key_id=str(s3_settings["backup_s3_access_key_id"]),
        aws_secret_access_key=str(s3_settings["backup_s3_secret_access_key"]),
    )


@dataclass(frozen=True)
class AgeKey:
    recipient: str
    identity_file: Path

    def identities(self) -> Identities:
        return load_identities(str(self.identity_file))


def make_key(directory: Path) -> AgeKey:
    identity = pyrage.x25519.Identity.generate()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex[:8]}.key"
    path.write_text(f"# test key\n{identity}\n")
    return AgeKey(str(identity.to_public()), path)


def backup_settings(directory: Path, key: AgeKey, **overrides: Any) -> BackupSettings:
    """The server's settings: the public key only."""
    values: dict[str, Any] = {"backup_dir": str(directory), "backup_age_recipient": key.recipient}
    values.update(overrides)
    return BackupSettings.model_validate(values)


def fingerprints_of(url: str) -> dict[str, TableFingerprint]:
    engine = Database.from_url(url).engine()
    try:
        with engine.connect() as connection:
            return fingerprint(connection, Base.metadata)
    finally:
        engine.dispose()


def scratch_databases(cluster: PostgresCluster) -> list[str]:
    with psycopg.connect(cluster.url(driver="postgresql")) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'signupflow_verify_%'"
        ).fetchall()
    return [str(row[0]) for row in rows]
