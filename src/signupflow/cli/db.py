from __future__ import annotations

from pathlib import Path

import click

from signupflow.cli.common import settings_or_exit
from signupflow.cli.transfer import migrate_sqlite
from signupflow.db import migrate, migration_lint
from signupflow.db.engine import make_engine


@click.group()
def db() -> None:
    """Database schema management."""


db.add_command(migrate_sqlite)


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Apply migrations. Safe to run from several replicas at once (advisory lock)."""
    engine = make_engine(settings_or_exit())
    try:
        migrate.upgrade(engine, revision)
        click.echo(f"database at revision {migrate.current_revision(engine)}")
    finally:
        engine.dispose()


@db.command("current")
def current() -> None:
    """Print the applied revision and the code's head; exit 1 when they differ."""
    engine = make_engine(settings_or_exit())
    try:
        applied, head = migrate.current_revision(engine), migrate.head_revision()
    finally:
        engine.dispose()
    click.echo(f"applied: {applied}\nhead:    {head}")
    if applied != head:
        raise SystemExit(1)


@db.command("lint")
@click.option(
    "--versions",
    "versions_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A versions directory other than the package's own (tests use it).",
)
def lint(versions_dir: Path | None) -> None:
    """Lint every migration's PostgreSQL SQL with squawk; exit 1 when one is refused
    (docs/migrations.md). Needs no database."""
    try:
        reports = migration_lint.lint_migrations(versions_dir)
    except migration_lint.LintError as error:
        raise click.ClickException(str(error)) from error
    click.echo(migration_lint.format_report(reports))
    if any(report.refused for report in reports):
        raise SystemExit(1)
