"""Revoked login sessions. The database rows are the record; the shared store holds a
denylist of session ids for the lifetime of their access tokens, so every instance refuses
a revoked access token without a database query. When the store is unreachable the check
falls back to the database."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.auth.models import RefreshToken
from signupflow.errors import ServiceUnavailable
from signupflow.state.store import SharedStore, SharedStoreError

log = logging.getLogger(__name__)


def _key(family: str) -> str:
    return f"revoked:{family}"


def publish_revocation(store: SharedStore, family: str, *, ttl_s: int, required: bool) -> None:
    """Tell every instance. `required`: fail the request if that is impossible (a logout
    that cannot take effect must say so rather than pretend)."""
    try:
        store.mark(_key(family), ttl_s)
    except SharedStoreError as exc:
        if required:
            raise ServiceUnavailable(
                "cannot log out right now; try again shortly", code="auth.logout_unavailable"
            ) from exc
        log.warning("revocation not published to the shared store; database fallback applies")


def is_revoked(session: Session, store: SharedStore, family: str) -> bool:
    try:
        return store.is_marked(_key(family))
    except SharedStoreError:
        revoked = session.scalar(
            select(RefreshToken.id)
            .where(RefreshToken.family == family, RefreshToken.revoked_at.is_not(None))
            .limit(1)
        )
        return revoked is not None
