"""Signing up as a person does: ask, take the confirmation link from the mail, follow it.
The link is read from the outbox row its mail is sent from, in the database under test."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from signupflow.notifications.models import Notification, NotificationKind, NotificationStatus
from signupflow.notifications.service import SECRET_FIELDS


def mailed_signup_token(session: Session, email: str) -> str:
    """The token in the newest sign-up confirmation mail to `email`. The mail is then marked
    delivered, its token dropped, as the worker does after sending it, so tests that run the
    worker see only the mail they cause."""
    rows = session.scalars(
        select(Notification)
        .where(
            Notification.kind == NotificationKind.SIGNUP_CONFIRM,
            Notification.organisation_id.is_(None),
        )
        .order_by(Notification.id.desc())
        .limit(500)
    )
    for row in rows:
        if row.payload.get("to") == email and "token" in row.payload:
            token = str(row.payload["token"])
            row.status = NotificationStatus.SENT
            row.sent_at = datetime.now(UTC)
            row.payload = {k: v for k, v in row.payload.items() if k not in SECRET_FIELDS}
            return token
    raise AssertionError(f"no sign-up confirmation mail to {email} in the outbox")


def mailed_signup_token_in(database_url: str, email: str) -> str:
    """The same, for a server process that owns its database (runtime and browser tests)."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            return mailed_signup_token(session, email)
    finally:
        engine.dispose()


def signup_body(slug: str, email: str, password: str, **extra: Any) -> dict[str, Any]:
    return {
        "organisation_name": f"Org {slug}",
        "slug": slug,
        "name": "Admin",
        "email": email,
        "password": password,
        **extra,
    }
