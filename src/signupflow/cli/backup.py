"""`signupflow backup`: encrypted logical backups of the PostgreSQL database."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from typing import TypeVar

import click
import psycopg
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from signupflow.backup.archive import Backups, Manifest, Timings
from signupflow.backup.errors import EXIT_DATABASE, EXIT_REFUSED, BackupError
from signupflow.backup.settings import BackupSettings
from signupflow.cli.common import EXIT_CONFIG, settings_or_exit
from signupflow.settings import ConfigError, Settings

T = TypeVar("T")

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
  9  refused: no encryption key, or production without --force
"""


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

    Configured by BACKUP_DIR, BACKUP_AGE_RECIPIENT (age public key),
    BACKUP_AGE_IDENTITY_FILE (private key, only where verifying/restoring),
    BACKUP_RETENTION_DAYS (30), BACKUP_KEEP_LAST (7) and, for S3-compatible storage,
    BACKUP_S3_BUCKET, BACKUP_S3_PREFIX, BACKUP_S3_ENDPOINT_URL, BACKUP_S3_REGION,
    BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY.
    """


@backup.command("create")
@click.option("--no-prune", is_flag=True, help="Do not apply retention afterwards")
@_with_help(EXIT_CODES)
def create(no_prune: bool) -> None:
    """Dump the database, encrypt it to BACKUP_AGE_RECIPIENT, write its manifest, upload
    both to S3 when configured, then delete backups past retention (keeping the newest
    BACKUP_KEEP_LAST). The manifest's per-table fingerprint is read in the snapshot
    pg_dump dumps."""
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


@backup.command("verify")
@click.argument("name")
@_with_help(EXIT_CODES)
def verify(name: str) -> None:
    """Check NAME's checksum, decrypt it with BACKUP_AGE_IDENTITY_FILE, restore it into a
    scratch database on the same server, compare every table's row count and checksum
    with the manifest, and drop the scratch database."""
    _, backups = _backups()
    timings = Timings()
    manifest = _run(lambda: backups.verify(name, timings))
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.seconds.items())
    click.echo(f"verified {_describe(manifest)} ({steps})")


@backup.command("restore")
@click.argument("name")
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
    name: str, yes: bool, dry_run: bool, force: bool, anonymise: bool, no_safety_backup: bool
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
    if not dry_run and not yes:
        click.confirm(
            f"Replace all data in database {backups.database.name!r} with {name}?", abort=True
        )
    started = time.monotonic()
    manifest, safety = _run(
        lambda: backups.restore(
            name,
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


@backup.command("schedule")
def schedule() -> None:
    """Run as a service: `backup create` (with retention) then `backup verify` daily at
    BACKUP_SCHEDULE_AT (HH:MM UTC, default 02:30) or every BACKUP_SCHEDULE_INTERVAL_S
    seconds; BACKUP_SCHEDULE_RUN_ON_START=true runs once at start as well.

    Each step is a child process, logged as one JSON line with its exit code (see the
    other commands' exit codes). A failed run POSTs JSON to BACKUP_ALERT_WEBHOOK_URL (or
    _FILE). Prometheus metrics (last good backup's time and age, last run's status, exit
    code, step durations, sizes) are served on BACKUP_METRICS_HOST:BACKUP_METRICS_PORT
    (0.0.0.0:9108; port 0 disables) at /metrics and/or written to BACKUP_METRICS_FILE.
    Stops after the current run on SIGTERM. Exits 2 at once if the configuration is
    unusable.
    """
    from signupflow.backup.schedule import ScheduleSettings, serve

    _backups()  # the same checks `backup create` makes, before the first run is due
    try:
        schedule_settings = ScheduleSettings()
    except (ValidationError, ConfigError) as exc:
        click.echo(f"invalid backup schedule configuration: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    backup_settings = BackupSettings()
    if not backup_settings.backup_age_recipient:
        click.echo("error: BACKUP_AGE_RECIPIENT (age public key) is not set", err=True)
        raise SystemExit(EXIT_CONFIG)
    if not backup_settings.backup_age_identity_file:
        click.echo("error: BACKUP_AGE_IDENTITY_FILE is needed to verify backups", err=True)
        raise SystemExit(EXIT_CONFIG)
    serve(schedule_settings)
