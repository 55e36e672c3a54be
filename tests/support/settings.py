"""The suite's database backend and the settings its apps run with."""

from __future__ import annotations

import os

from signupflow.settings import Settings

# `TEST_DATABASE=sqlite|postgresql` picks the backend for the whole run; `make test` runs the
# suite once for each.
BACKEND = os.environ.get("TEST_DATABASE", "sqlite")


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": database_url,
        "bcrypt_rounds": 4,
        "load_demo": False,
        "auto_migrate": True,
        "db_pool_size": 20,
        "db_max_overflow": 20,
        # Every test signs up and accepts invitations from the one test client's address, and
        # some solve one organisation's draft again and again; the limits themselves are
        # tested with their own settings.
        "signup_requests_per_minute": 10_000,
        "login_attempts_per_minute": 1_000,
        "org_solves_per_minute": 10_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
