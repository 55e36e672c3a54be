"""Unhandled errors go to Sentry when SENTRY_DSN is set; otherwise nothing is sent anywhere."""

from __future__ import annotations

import sentry_sdk

from signupflow import __version__
from signupflow.settings import Settings


def init_error_reporting(settings: Settings) -> bool:
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.app_env,
        release=settings.release or f"signupflow@{__version__}",
        traces_sample_rate=0.0,
        # Nothing personal or secret leaves the service: no user data, bodies, cookies, SQL
        # parameters, or local variables (a frame's locals can hold a password).
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "database_query_data": False,
            "stack_frame_variables": False,
        },
    )
    return True
