from __future__ import annotations

import click

from signupflow.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def settings_or_exit() -> Settings:
    """Settings from the environment, or a message naming every bad value and exit 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(EXIT_CONFIG) from None
