from __future__ import annotations

import json

import click

from signupflow.cli.common import EXIT_CONFIG
from signupflow.settings import ConfigError, read_settings


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
def check() -> None:
    """Print the effective configuration (secrets masked); exit 2 when it is invalid."""
    try:
        settings = read_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(EXIT_CONFIG) from None
    click.echo(json.dumps(settings.masked(), indent=2, default=str))
    problems = settings.problems()
    if problems:
        click.echo(str(ConfigError(problems)), err=True)
        raise SystemExit(EXIT_CONFIG)
    click.echo(f"configuration is valid for the {settings.app_env} profile", err=True)
