from __future__ import annotations

import json
import sys
from typing import IO

import click

from signupflow.actor import Actor
from signupflow.cli.common import organisation_by_slug, settings_or_exit
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.errors import DomainError
from signupflow.people import csv_io

EXIT_REJECTED = 1


@click.group()
def people() -> None:
    """Export and import an organisation's people as CSV."""


@people.command("export")
@click.option("--org", "slug", required=True, help="Organisation slug")
@click.argument("file", type=click.File("w", encoding="utf-8", lazy=True), default="-")
def export_command(slug: str, file: IO[str]) -> None:
    """Write everyone to FILE (or - for standard output)."""
    engine = make_engine(settings_or_exit())
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            text = csv_io.export_csv(session, organisation_by_slug(session, slug).id)
    finally:
        engine.dispose()
    file.write(text)


@people.command("import")
@click.option("--org", "slug", required=True, help="Organisation slug")
@click.option("--dry-run", is_flag=True, help="Check and count only; write nothing")
@click.argument("file", type=click.File("rb"))
def import_command(slug: str, dry_run: bool, file: IO[bytes]) -> None:
    """Create or update people from FILE (all or nothing). Prints a JSON summary; on errors
    prints each with its line and column and exits 1."""
    engine = make_engine(settings_or_exit())
    data = file.read(csv_io.MAX_BYTES + 1)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            actor = Actor.system(organisation_by_slug(session, slug))
            result = csv_io.import_csv(session, actor, data, dry_run=dry_run)
    except DomainError as exc:
        click.echo(f"{exc.detail}", err=True)
        for error in exc.extra.get("errors", []):
            column = f", column {error['column']}" if error.get("column") else ""
            click.echo(f"line {error['line']}{column}: {error['message']}", err=True)
        sys.exit(EXIT_REJECTED)
    finally:
        engine.dispose()
    summary = {k: getattr(result, k) for k in ("dry_run", "created", "updated", "unchanged")}
    click.echo(json.dumps(summary))
