"""Create, list, verify, restore and prune encrypted logical backups.

A backup is two files: `NAME.dump.age` (a pg_dump custom-format archive, compressed, then
encrypted to an age public key) and `NAME.manifest.json` (when, what, sizes, the archive's
SHA-256 and a per-table fingerprint taken in the very snapshot pg_dump read).

`create` runs on the server, which holds only the public key: it checks what it can without
decrypting (the archive's table of contents lists every fingerprinted table, the encrypted
file's SHA-256, the copy in S3) and records it in the manifest. `verify` and `restore` need the
private key, given at run time where it lives (a recovery host).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import text

from signupflow.backup import postgres
from signupflow.backup.age import Identities, decrypt_file, encrypt_file
from signupflow.backup.errors import (
    BackupError,
    BackupNotFound,
    ContentsMismatch,
    DatabaseFailure,
    IntegrityFailure,
    Refused,
)
from signupflow.backup.postgres import Database
from signupflow.backup.retention import expired
from signupflow.backup.settings import BackupSettings
from signupflow.backup.storage import LocalStore, S3Store, archive_name, manifest_name
from signupflow.db.fingerprint import TableFingerprint, compare, fingerprint
from signupflow.db.models import Base

MANIFEST_FORMAT = 2  # 2: dump_tables_listed, offsite_verified
_HASH_CHUNK = 1 << 20


def _app_version() -> str:
    try:
        return version("signupflow")
    except PackageNotFoundError:
        return "unknown"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    name: str
    created_at: datetime
    database: str
    schema_revision: str | None
    app_version: str
    dump_bytes: int
    archive_bytes: int
    archive_sha256: str
    recipient: str
    tables: dict[str, TableFingerprint]
    format: int = MANIFEST_FORMAT
    fingerprint_note: str = "taken in the snapshot pg_dump exported (--snapshot)"
    # Checked on the server before encrypting: how many tables `pg_restore --list` found data
    # for in the archive (every fingerprinted table must be among them). None before format 2.
    dump_tables_listed: int | None = None
    # The archive is in S3 with its local size, and the manifest read back equal.
    offsite_verified: bool = False

    def to_json(self) -> str:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["tables"] = {k: asdict(v) for k, v in self.tables.items()}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, raw: str) -> Manifest:
        data: dict[str, Any] = json.loads(raw)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["tables"] = {k: TableFingerprint(**v) for k, v in data["tables"].items()}
        return cls(**data)


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = time.monotonic() - started


def check_dump(database: Database, plain: Path, tables: dict[str, TableFingerprint]) -> int:
    """The plain archive's table of contents reads and holds the data of every table the
    fingerprint counted; the number of tables it lists."""
    listed = postgres.dumped_tables(database, plain)
    missing = sorted(set(tables) - listed)
    if missing:
        raise DatabaseFailure(
            f"pg_dump's archive holds no data for {', '.join(missing)}; refusing it"
        )
    return len(listed)


class Backups:
    """The backups of one database under one BackupSettings."""

    def __init__(
        self, settings: BackupSettings, database_url: str, *, s3_client: Any = None
    ) -> None:
        self.settings = settings
        self.database = Database.from_url(database_url)
        self.local = LocalStore(Path(settings.backup_dir))
        self.s3 = S3Store(settings, client=s3_client) if settings.s3_enabled else None

    def create(self, *, prefix: str = "signupflow") -> Manifest:
        """Dump, check and encrypt; needs only the public key."""
        recipient = self.settings.backup_age_recipient
        if not recipient:
            raise Refused("BACKUP_AGE_RECIPIENT is not set: refusing an unencrypted backup")
        now = datetime.now(UTC)
        name = f"{prefix}-{self.database.name}-{now:%Y%m%dT%H%M%S.%f}Z"
        self.local.directory.mkdir(parents=True, exist_ok=True)
        archive = self.local.path(archive_name(name))
        with tempfile.TemporaryDirectory(prefix="sf-backup-") as scratch:
            plain = Path(scratch) / "dump"
            with postgres.snapshot(self.database) as (connection, snapshot_id):
                revision = connection.execute(
                    text("SELECT version_num FROM alembic_version")
                ).scalar()
                tables = fingerprint(connection, Base.metadata)
                postgres.dump(self.database, plain, snapshot_id=snapshot_id)
            listed = check_dump(self.database, plain, tables)
            partial = archive.with_name(archive.name + ".partial")
            encrypt_file(plain, partial, recipient)
            partial.rename(archive)
            dump_bytes = plain.stat().st_size
        if self.s3 is not None:
            # The archive first and the manifest last: a listed backup always has its archive.
            self.s3.upload(archive)
            self.s3.verify_upload(archive)
        manifest = Manifest(
            name=name,
            created_at=now,
            database=self.database.name,
            schema_revision=revision,
            app_version=_app_version(),
            dump_bytes=dump_bytes,
            archive_bytes=archive.stat().st_size,
            archive_sha256=sha256_of(archive),
            recipient=recipient,
            tables=tables,
            dump_tables_listed=listed,
            offsite_verified=self.s3 is not None,
        )
        manifest_path = self.local.path(manifest_name(name))
        manifest_path.write_text(manifest.to_json())
        if self.s3 is not None:
            self.s3.upload(manifest_path)
            self.s3.verify_upload(manifest_path)
        return manifest

    def manifests(self) -> list[Manifest]:
        names = set(self.local.names()) | set(self.s3.names() if self.s3 else [])
        return sorted((self.manifest(n) for n in names), key=lambda m: m.created_at)

    def latest(self) -> str:
        """The name of the newest backup, locally or in S3."""
        found = self.manifests()
        if not found:
            where = f"{self.local.directory}" + (" or S3" if self.s3 is not None else "")
            raise BackupNotFound(f"no backup in {where}")
        return found[-1].name

    def manifest(self, name: str) -> Manifest:
        path = self.local.path(manifest_name(name))
        if not path.exists():
            self._fetch(manifest_name(name))
        return Manifest.from_json(path.read_text())

    def _fetch(self, filename: str) -> None:
        path = self.local.path(filename)
        if self.s3 is None:
            raise BackupNotFound(f"no backup file {filename} in {self.local.directory}")
        self.local.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        if not self.s3.download(filename, partial):
            raise BackupNotFound(f"no backup file {filename} locally or in S3")
        partial.rename(path)

    def checked_archive(self, name: str) -> tuple[Manifest, Path]:
        """The manifest and the archive, after its size and SHA-256 match the manifest."""
        manifest = self.manifest(name)
        archive = self.local.path(archive_name(name))
        if not archive.exists():
            self._fetch(archive_name(name))
        size = archive.stat().st_size
        if size != manifest.archive_bytes:
            raise IntegrityFailure(
                f"{archive.name}: {size} bytes, the manifest says {manifest.archive_bytes} "
                "(truncated or altered); refusing it"
            )
        digest = sha256_of(archive)
        if digest != manifest.archive_sha256:
            raise IntegrityFailure(
                f"{archive.name}: SHA-256 {digest} does not match the manifest's "
                f"{manifest.archive_sha256} (altered); refusing it"
            )
        return manifest, archive

    @contextmanager
    def decrypted(self, name: str, identities: Identities) -> Iterator[tuple[Manifest, Path]]:
        manifest, archive = self.checked_archive(name)
        with tempfile.TemporaryDirectory(prefix="sf-restore-") as scratch:
            plain = Path(scratch) / "dump"
            decrypt_file(archive, plain, identities)
            yield manifest, plain

    def verify(
        self,
        name: str | None,
        identities: Identities,
        timings: Timings | None = None,
        *,
        remove_downloaded: bool = False,
    ) -> Manifest:
        """Check the archive's SHA-256, decrypt it, restore it into a scratch database, compare
        its contents with the manifest and drop the scratch database. `name` None: the newest.
        `remove_downloaded`: delete the archive afterwards if it was fetched from S3 for this
        (a drill host keeps no copies)."""
        timings = timings or Timings()
        name = name or self.latest()
        local_archive = self.local.path(archive_name(name))
        downloaded = not local_archive.exists()
        with ExitStack() as stack:
            if remove_downloaded and downloaded:
                stack.callback(local_archive.unlink, missing_ok=True)
            with timings.step("check and decrypt"):
                manifest, plain = stack.enter_context(self.decrypted(name, identities))
            scratch = self.database.sibling(f"signupflow_verify_{uuid.uuid4().hex[:12]}")
            scratch.create()
            try:
                with timings.step("restore"):
                    postgres.restore(scratch, plain, clean=False)
                with timings.step("compare"):
                    self._compare(scratch, manifest)
            finally:
                scratch.drop()
        return manifest

    def restore(
        self,
        name: str,
        identities: Identities,
        *,
        production: bool,
        force: bool,
        dry_run: bool = False,
        anonymise: bool = False,
        safety_backup: bool = True,
    ) -> tuple[Manifest, Manifest | None]:
        """Replace this database's contents with a backup's. Returns the backup's manifest and
        that of the safety backup taken of the current contents first (None if there were
        none, or on a dry run)."""
        if production and not force:
            raise Refused("APP_ENV is production: restoring needs --force")
        if production and anonymise:
            raise Refused("--anonymise is for staging copies, not production")
        with self.decrypted(name, identities) as (manifest, plain):
            if dry_run:
                return manifest, None
            safety = None
            exists = self.database.exists()
            if exists:
                self._refuse_foreign_tables(manifest)
            if exists and safety_backup and self._has_schema():
                safety = self.create(prefix="pre-restore")
            if not exists:
                self.database.create()
            postgres.restore(self.database, plain, clean=exists)
            self._compare(self.database, manifest)
        if anonymise:
            from signupflow.backup.anonymise import anonymise as anonymise_database

            anonymise_database(self.database)
        return manifest, safety

    def _refuse_foreign_tables(self, manifest: Manifest) -> None:
        # pg_restore --clean drops only what the archive holds: a table from a newer schema
        # would survive next to the older alembic_version and break the next migration.
        engine = self.database.engine()
        try:
            with engine.connect() as connection:
                present = set(
                    connection.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    ).scalars()
                )
        finally:
            engine.dispose()
        foreign = sorted(present - set(manifest.tables) - {"alembic_version"})
        if foreign:
            raise Refused(
                f"database {self.database.name!r} holds tables the backup does not "
                f"({', '.join(foreign)}); restore into a new or dropped database instead"
            )

    def _has_schema(self) -> bool:
        engine = self.database.engine()
        try:
            with engine.connect() as connection:
                return bool(
                    connection.execute(text("SELECT to_regclass('alembic_version')")).scalar()
                )
        finally:
            engine.dispose()

    def _compare(self, database: Database, manifest: Manifest) -> None:
        engine = database.engine()
        try:
            with engine.connect() as connection:
                actual = fingerprint(connection, Base.metadata)
        finally:
            engine.dispose()
        differences = compare(manifest.tables, actual)
        if differences:
            raise ContentsMismatch(
                "restored contents differ from the manifest: "
                + "; ".join(str(d) for d in differences)
            )

    def prune(self, *, now: datetime | None = None, dry_run: bool = False) -> list[str]:
        """Apply retention locally and in S3, each on its own listing."""
        now = now or datetime.now(UTC)
        deleted: set[str] = set()
        stores: list[LocalStore | S3Store] = [self.local]
        if self.s3 is not None:
            stores.append(self.s3)
        for store in stores:
            dated = [(n, self._created_at(store, n)) for n in store.names()]
            for name in expired(
                dated,
                now=now,
                max_age_days=self.settings.backup_retention_days,
                keep_last=self.settings.backup_keep_last,
            ):
                if not dry_run:
                    store.delete(name)
                deleted.add(name)
        return sorted(deleted)

    def _created_at(self, store: LocalStore | S3Store, name: str) -> datetime:
        if isinstance(store, LocalStore):
            raw = store.path(manifest_name(name)).read_text()
        else:
            raw = store.read(manifest_name(name))
        return Manifest.from_json(raw).created_at


__all__ = ["BackupError", "Backups", "Manifest", "Timings"]
