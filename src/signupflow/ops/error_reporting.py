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
        send_default_pii=False,  # no e-mails, IPs or cookies leave the service
        traces_sample_rate=0.0,
        max_request_body_size="never",
    )
    return True
