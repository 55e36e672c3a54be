from __future__ import annotations

import click

from signupflow.cli.common import settings_or_exit
from signupflow.cli.transfer import migrate_sqlite
from signupflow.db import migrate
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
