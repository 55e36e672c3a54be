"""`signupflow`: one command group per module; each is a thin wrapper over plain functions."""

from __future__ import annotations

import click

from signupflow.cli.backup import backup
from signupflow.cli.config import config
from signupflow.cli.db import db
from signupflow.cli.people import people
from signupflow.cli.schedule import schedule
from signupflow.cli.serve import serve
from signupflow.cli.worker import worker


@click.group()
@click.version_option(package_name="signupflow")
def cli() -> None:
    """SignUpFlow volunteer scheduling."""


cli.add_command(serve)
cli.add_command(db)
cli.add_command(config)
cli.add_command(backup)
cli.add_command(schedule)
cli.add_command(worker)
cli.add_command(people)
