from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from signupflow.db.engine import normalise_url
from signupflow.transfer import (
    DEFAULT_BATCH_SIZE,
    SilentReporter,
    TransferError,
    TransferReport,
    migrate_sqlite_to_postgres,
)


class StderrReporter:
    """A line per batch (`table: done/total rows`), so a log shows how far a copy got."""

    def step(self, message: str) -> None:
        click.echo(message, err=True)

    def table_progress(self, table: str, done: int, total: int) -> None:
        state = " done" if done == total else ""
        click.echo(f"{table}: {done}/{total} rows{state}", err=True)


def _target_url(ctx: click.Context, target: str | None, target_file: Path | None) -> str | None:
    if target is not None and target_file is not None:
        raise click.UsageError("give the target either as TARGET or with --target-file, not both")
    if target_file is not None:
        url = target_file.read_text().strip()
        if not url:
            raise click.UsageError(f"--target-file {target_file} is empty")
        return url
    on_command_line = ctx.get_parameter_source("target") == ParameterSource.COMMANDLINE
    if target is not None and on_command_line and _has_password(target):
        click.echo(
            "warning: a password on the command line is visible to other users of this "
            "machine; prefer --target-file or TARGET_DATABASE_URL",
            err=True,
        )
    return target


def _has_password(url: str) -> bool:
    try:
        return make_url(normalise_url(url)).password is not None
    except ArgumentError:
        return False


def _print_report(report: TransferReport) -> None:
    width = max(len(name) for name in report.tables)
    for name, table in report.tables.items():
        click.echo(f"{name:<{width}}  {table.rows:>10}  {table.checksum}")
    verb = "would copy" if report.dry_run else "copied and verified"
    click.echo(
        f"{verb} {report.rows} rows in {len(report.tables)} tables in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} rows/s)"
    )


@click.command("migrate-sqlite")
@click.argument("source")
@click.argument("target", required=False, envvar="TARGET_DATABASE_URL")
@click.option(
    "--target-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="TARGET_DATABASE_URL_FILE",
    help="Read the target URL from this file (env TARGET_DATABASE_URL_FILE)",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1_000_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Rows read and inserted per batch",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Delete the rows already in the target's tables, inside the same transaction",
)
@click.option("--dry-run", is_flag=True, help="Read, convert and fingerprint; write nothing")
@click.option("--quiet", is_flag=True, help="No progress on stderr")
@click.pass_context
def migrate_sqlite(
    ctx: click.Context,
    source: str,
    target: str | None,
    target_file: Path | None,
    batch_size: int,
    replace: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Copy a SQLite SignUpFlow database (SOURCE: a file or sqlite:/// URL) into a
    PostgreSQL database (TARGET, env TARGET_DATABASE_URL, or --target-file), keeping
    every id.

    Stop the app first. The source is opened read-only and read as one snapshot; it
    must be at this version's schema revision. The target is first brought to that
    revision (as `db upgrade` does), then filled in a single transaction that is
    verified before it commits: per table, the row count and an order-independent
    checksum of every row must equal the source's. A failure, or the process being
    killed, leaves the target's tables as they were. A target holding rows is refused
    unless --replace, which deletes them inside the same transaction (so a failed copy
    keeps them). Progress goes to stderr, the per-table fingerprints to stdout.

    \b
    Exit codes:
      0  copied and verified (--dry-run: every row readable and convertible)
      2  usage or configuration error
      3  source problem: missing, unreadable, another schema revision, or rows
         PostgreSQL cannot store (--dry-run lists them all)
      4  the target holds data and --replace was not given
      5  verification mismatch; nothing was committed
      6  copy failed (target unreachable, busy, or refusing a row); nothing committed
    """
    url = _target_url(ctx, target, target_file)
    try:
        report = migrate_sqlite_to_postgres(
            source,
            url,
            batch_size=batch_size,
            replace=replace,
            dry_run=dry_run,
            reporter=SilentReporter() if quiet else StderrReporter(),
        )
    except TransferError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    _print_report(report)
