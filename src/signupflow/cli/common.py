from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.organisations.models import Organisation
from signupflow.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def settings_or_exit() -> Settings:
    """Settings from the environment, or a message naming every bad value and exit 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(EXIT_CONFIG) from None


def organisation_by_slug(session: Session, slug: str) -> Organisation:
    """The organisation an operator names with --org, or a usage error (exit 2)."""
    found = session.scalars(select(Organisation).where(Organisation.slug == slug)).one_or_none()
    if found is None:
        raise click.UsageError(f"no organisation with the slug '{slug}'")
    return found
