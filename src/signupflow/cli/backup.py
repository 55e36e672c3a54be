"""`signupflow backup`: encrypted logical backups of the PostgreSQL database."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
import psycopg
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from signupflow.backup.age import STDIN, Identities, load_identities
from signupflow.backup.archive import Backups, Manifest, Timings
from signupflow.backup.errors import EXIT_DATABASE, EXIT_REFUSED, BackupError
from signupflow.backup.settings import BackupSettings
from signupflow.cli.common import EXIT_CONFIG, settings_or_exit
from signupflow.settings import ConfigError, Settings

if TYPE_CHECKING:
    from signupflow.backup.schedule import ScheduleSettings

T = TypeVar("T")
# Names an operator might give the private key by; the backup service refuses them all.
PRIVATE_KEY_VARIABLES = frozenset(
    {"BACKUP_AGE_IDENTITY", "BACKUP_AGE_IDENTITY_FILE", "AGE_IDENTITY", "SOPS_AGE_KEY_FILE"}
)

EXIT_CODES = """\b
Exit codes:
  0  success
  1  not confirmed (restore)
  2  usage or configuration error
  3  no such backup (locally or in S3)
  4  archive fails its checksum or size (tampered or truncated); refused
  5  cannot decrypt: wrong identity, or ciphertext altered
  6  restored contents differ from the manifest's fingerprint
  7  database or pg_dump/pg_restore failure
  8  S3 storage failure
  9  refused: no BACKUP_AGE_RECIPIENT (create), an unreadable identity file, or
     production without --force
"""

IDENTITY_HELP = (
    "The age private key (age-keygen's file), or - to read it from standard input. "
    "Never kept on the server that makes the backups."
)


def _with_help(text: str) -> Callable[[T], T]:
    def decorate(function: T) -> T:
        function.__doc__ = (
            (function.__doc__ or "").rstrip() + "\n\n" + textwrap.indent(text, "    ")
        )
        return function

    return decorate


def _backups() -> tuple[Settings, Backups]:
    settings = settings_or_exit()
    try:
        backup_settings = BackupSettings()
        return settings, Backups(backup_settings, settings.database_url.get_secret_value())
    except ValidationError as exc:
        click.echo(f"invalid backup configuration: {exc}", err=True)
    except (BackupError, ConfigError) as exc:
        click.echo(f"error: {exc}", err=True)
    raise SystemExit(EXIT_CONFIG)


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    except (SQLAlchemyError, psycopg.Error) as exc:
        # The driver's message names host, port and database, never the password.
        original = getattr(exc, "orig", None) or exc
        click.echo(f"error: database: {type(original).__name__}: {original}", err=True)
        raise SystemExit(EXIT_DATABASE) from None


def _describe(manifest: Manifest) -> str:
    rows = sum(t.rows for t in manifest.tables.values())
    return (
        f"{manifest.name}  {manifest.created_at:%Y-%m-%d %H:%M:%S}Z  "
        f"{manifest.archive_bytes:>12,} B  {rows:>9,} rows  rev {manifest.schema_revision}"
    )


@click.group()
def backup() -> None:
    """Encrypted logical backups (pg_dump) with manifests, retention, verify and restore.

    Configured by BACKUP_DIR, BACKUP_AGE_RECIPIENT (age public key: all `create` needs),
    BACKUP_RETENTION_DAYS (30), BACKUP_KEEP_LAST (7) and, for S3-compatible storage,
    BACKUP_S3_BUCKET, BACKUP_S3_PREFIX, BACKUP_S3_ENDPOINT_URL, BACKUP_S3_REGION,
    BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY. The private key is never a
    setting: `verify`, `restore` and `drill` take it as --identity-file, where it lives.
    """


@backup.command("create")
@click.option("--no-prune", is_flag=True, help="Do not apply retention afterwards")
@_with_help(EXIT_CODES)
def create(no_prune: bool) -> None:
    """Dump the database, check the dump, encrypt it to BACKUP_AGE_RECIPIENT, write its
    manifest, upload both to S3 when configured and check the uploads, then delete backups
    past retention (keeping the newest BACKUP_KEEP_LAST). Needs no private key.

    Checked before anything is kept: `pg_restore --list` reads the dump's table of contents
    and finds the data of every table the manifest's fingerprint (read in the snapshot
    pg_dump dumps) counted; the manifest records the encrypted file's SHA-256; each object in
    S3 has the local size, and the manifest reads back equal."""
    _, backups = _backups()
    started = time.monotonic()
    manifest = _run(backups.create)
    click.echo(f"created {_describe(manifest)} in {time.monotonic() - started:.1f} s")
    if not no_prune:
        for name in _run(backups.prune):
            click.echo(f"deleted {name} (past retention)")


@backup.command("list")
@_with_help(EXIT_CODES)
def list_backups() -> None:
    """Backups found locally and in S3, oldest first."""
    _, backups = _backups()
    for manifest in _run(backups.manifests):
        click.echo(_describe(manifest))


@backup.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing")
@_with_help(EXIT_CODES)
def prune(dry_run: bool) -> None:
    """Delete backups older than BACKUP_RETENTION_DAYS, always keeping the newest
    BACKUP_KEEP_LAST, locally and in S3."""
    _, backups = _backups()
    for name in _run(lambda: backups.prune(dry_run=dry_run)):
        click.echo(f"{'would delete' if dry_run else 'deleted'} {name}")


def _identities(location: str, exit_code: int | None = None) -> Identities:
    """The identities at `location`; an unusable key exits with `exit_code` (default: the
    error's own)."""
    try:
        return load_identities(location)
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(exc.exit_code if exit_code is None else exit_code) from None


@backup.command("verify")
@click.argument("name", required=False)
@click.option("--identity-file", required=True, metavar="PATH|-", help=IDENTITY_HELP)
@click.option(
    "--remove-downloaded",
    is_flag=True,
    help="Delete the archive afterwards if it was downloaded from S3 for this",
)
@_with_help(EXIT_CODES)
def verify(name: str | None, identity_file: str, remove_downloaded: bool) -> None:
    """Prove backup NAME (default: the newest, locally or in S3) restores: check its
    SHA-256 against the manifest, decrypt it with the key given, restore it into a scratch
    database on DATABASE_URL's server (the role needs CREATEDB), compare every table's row
    count and checksum with the manifest, and drop the scratch database."""
    _, backups = _backups()
    identities = _identities(identity_file)
    timings = Timings()
    manifest = _run(
        lambda: backups.verify(name, identities, timings, remove_downloaded=remove_downloaded)
    )
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.seconds.items())
    click.echo(f"verified {_describe(manifest)} ({steps})")


@backup.command("restore")
@click.argument("name")
@click.option("--identity-file", required=True, metavar="PATH|-", help=IDENTITY_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
@click.option("--dry-run", is_flag=True, help="Check and decrypt the backup; change nothing")
@click.option("--force", is_flag=True, help="Allow restoring when APP_ENV=production")
@click.option(
    "--anonymise",
    is_flag=True,
    help="Afterwards replace people's and users' names and e-mails with deterministic fakes "
    "and make every password and token unusable (for staging copies)",
)
@click.option("--no-safety-backup", is_flag=True, help="Skip the backup of the current data")
@_with_help(EXIT_CODES)
def restore(
    name: str,
    identity_file: str,
    yes: bool,
    dry_run: bool,
    force: bool,
    anonymise: bool,
    no_safety_backup: bool,
) -> None:
    """Replace the database's contents with backup NAME, in one transaction.

    Stop the app first. The archive's checksum is checked and it is decrypted before
    anything changes; then a safety backup of the current data is taken (named
    pre-restore-...), the backup is restored (the database is created if missing), and
    the result is compared with the manifest's fingerprint.
    """
    settings, backups = _backups()
    production = settings.app_env == "production"
    if production and not force:
        click.echo("error: APP_ENV is production: restoring needs --force", err=True)
        raise SystemExit(EXIT_REFUSED)
    if identity_file == STDIN and not (yes or dry_run):
        click.echo("error: --identity-file - reads standard input: add --yes", err=True)
        raise SystemExit(EXIT_CONFIG)
    identities = _identities(identity_file)
    if not dry_run and not yes:
        click.confirm(
            f"Replace all data in database {backups.database.name!r} with {name}?", abort=True
        )
    started = time.monotonic()
    manifest, safety = _run(
        lambda: backups.restore(
            name,
            identities,
            production=production,
            force=force,
            dry_run=dry_run,
            anonymise=anonymise,
            safety_backup=not no_safety_backup,
        )
    )
    if dry_run:
        click.echo(f"would restore {_describe(manifest)} into {backups.database.name!r}")
        return
    if safety is not None:
        click.echo(f"safety backup of the previous data: {safety.name}")
    click.echo(
        f"restored and verified {_describe(manifest)} in {time.monotonic() - started:.1f} s"
        + (" (anonymised)" if anonymise else "")
    )


def _schedule_settings() -> ScheduleSettings:
    from signupflow.backup.schedule import ScheduleSettings

    try:
        return ScheduleSettings()
    except (ValidationError, ConfigError) as exc:
        click.echo(f"invalid backup schedule configuration: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None


@backup.command("schedule")
def schedule() -> None:
    """Run as the backup service: `backup create` (with retention) daily at
    BACKUP_SCHEDULE_AT (HH:MM UTC, default 02:30) or every BACKUP_SCHEDULE_INTERVAL_S
    seconds; BACKUP_SCHEDULE_RUN_ON_START=true runs once at start as well. It holds only
    the public key; `backup drill` proves the backups restore, where the private key is.

    Each run is a child process, logged as one JSON line with its exit code (see
    `backup create`). A failed run POSTs JSON to BACKUP_ALERT_WEBHOOK_URL (or _FILE).
    Prometheus metrics (signupflow_backup_*: last good backup's time and age, last run's
    status, exit code, duration, sizes) are served on BACKUP_METRICS_HOST:BACKUP_METRICS_PORT
    (0.0.0.0:9108; port 0 disables) at /metrics and/or written to BACKUP_METRICS_FILE.
    Stops after the current run on SIGTERM. Exits 2 at once if the configuration is
    unusable, or if a private key is offered to it.
    """
    from signupflow.backup.schedule import serve

    _, backups = _backups()  # the same checks `backup create` makes, before the first run is due
    offered = sorted(PRIVATE_KEY_VARIABLES & set(os.environ))
    if offered:
        click.echo(
            f"error: {', '.join(offered)} is set: the backup service holds only the public "
            "key (BACKUP_AGE_RECIPIENT); give the private key to `backup drill` on the "
            "recovery host instead",
            err=True,
        )
        raise SystemExit(EXIT_CONFIG)
    schedule_settings = _schedule_settings()
    if not backups.settings.backup_age_recipient:
        click.echo("error: BACKUP_AGE_RECIPIENT (age public key) is not set", err=True)
        raise SystemExit(EXIT_CONFIG)
    serve(schedule_settings)


@backup.command("drill")
@click.option(
    "--identity-file",
    required=True,
    metavar="PATH",
    help="The age private key (age-keygen's file), read at every run.",
)
def drill(identity_file: str) -> None:
    """Run as the restore drill, where the private key is (a recovery host): `backup verify
    --identity-file PATH --remove-downloaded` on the newest backup daily at
    BACKUP_SCHEDULE_AT (HH:MM UTC) or every BACKUP_SCHEDULE_INTERVAL_S seconds
    (BACKUP_SCHEDULE_RUN_ON_START=true: once at start as well). The scratch database is
    made on DATABASE_URL's server, so its role needs CREATEDB.

    Logged, alerted (BACKUP_ALERT_WEBHOOK_URL, "event": "backup_drill_failed") and
    measured (signupflow_backup_drill_*, on BACKUP_METRICS_PORT and/or BACKUP_METRICS_FILE)
    like `backup schedule`; the exit codes are `backup verify`'s. Exits 2 at once if the
    configuration or the key is unusable.
    """
    from signupflow.backup.schedule import drill_job, serve

    _backups()
    if identity_file == STDIN:
        click.echo("error: the drill reads its key at every run: give a file", err=True)
        raise SystemExit(EXIT_CONFIG)
    _identities(identity_file, EXIT_CONFIG)
    serve(_schedule_settings(), drill_job(str(Path(identity_file).resolve())))
