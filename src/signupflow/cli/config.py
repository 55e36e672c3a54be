from __future__ import annotations

import json
from pathlib import Path

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


@config.command("reference")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the reference to this file instead of printing it",
)
@click.option(
    "--check",
    "check_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Exit 1 unless this file holds the current reference",
)
def reference(output: Path | None, check_path: Path | None) -> None:
    """The configuration reference (docs/configuration.md), rendered from the settings
    models: every variable, its type, default per profile, and description."""
    # Imported here: it loads every settings model (and the backup service's), which no other
    # command needs, and the CLI imports this module on every start (`serve`, `worker`, ...).
    from signupflow.settings_reference import drift, render

    if output is not None and check_path is not None:
        raise click.UsageError("give --output or --check, not both")
    root = click.get_current_context().find_root().command
    if check_path is not None:
        problem = drift(check_path, root)
        if problem:
            click.echo(problem, err=True)
            raise SystemExit(1)
        click.echo(f"{check_path} is current", err=True)
        return
    text = render(root)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text)
    click.echo(f"wrote {output}", err=True)
