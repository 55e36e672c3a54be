"""Login, token rotation, logout and password change (sign-up: signup.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.auth.errors import RefreshTokenReused
from signupflow.auth.models import RefreshToken, User
from signupflow.auth.passwords import hash_password, verify_password
from signupflow.auth.revocation import publish_revocation
from signupflow.auth.successor import seal, unseal
from signupflow.auth.tokens import AccessClaims, digest, encode_access_token, new_opaque_token
from signupflow.errors import Unauthenticated
from signupflow.organisations.models import Organisation
from signupflow.people.models import Membership
from signupflow.settings import Settings
from signupflow.state.store import SharedStore
from signupflow.tenancy import scoped


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    organisation_id: int


def issue_tokens(
    session: Session,
    *,
    user: User,
    organisation_id: int,
    settings: Settings,
    family: str | None = None,
    refresh: str | None = None,
) -> TokenPair:
    """A new access token and a new refresh token (`refresh`, when the caller drew it)."""
    family = family or new_opaque_token()
    refresh = refresh or new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            organisation_id=organisation_id,
            family=family,
            token_hash=digest(refresh),
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    access = encode_access_token(
        AccessClaims(user.id, organisation_id, user.token_version, family),
        secret=settings.secret_key.get_secret_value(),
        ttl_s=settings.access_token_ttl_s,
    )
    return TokenPair(access, refresh, settings.access_token_ttl_s, organisation_id)


def log_in(
    session: Session,
    *,
    settings: Settings,
    email: str,
    password: str,
    organisation_slug: str | None,
) -> TokenPair:
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise Unauthenticated("wrong e-mail or password", code="auth.wrong_credentials")
    stmt = (
        select(Membership.organisation_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
    )
    if organisation_slug:
        stmt = stmt.where(Organisation.slug == organisation_slug)
    organisation_id = session.scalars(stmt.limit(1)).first()
    if organisation_id is None:
        raise Unauthenticated("no membership in that organisation", code="auth.no_membership")
    return issue_tokens(session, user=user, organisation_id=organisation_id, settings=settings)


def rotate_refresh_token(
    session: Session, *, settings: Settings, store: SharedStore, refresh_token: str
) -> TokenPair:
    """Exchange a refresh token for a new pair. Presenting one that was already used means it
    was stolen or replayed, and the whole session (family) is revoked, except within
    REFRESH_REUSE_GRACE_S of its first use while its successor is still unused: two tabs
    refreshing at once both get that same successor."""
    now = datetime.now(UTC)
    token = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
    ).one_or_none()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthenticated("refresh token is invalid or expired", code="auth.refresh_invalid")
    lock_sessions(session, user_id=token.user_id)
    successor = new_opaque_token()
    # Conditional update: of two concurrent refreshes with one token, exactly one wins.
    claimed = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=now, successor_sealed=seal(successor, under=refresh_token))
    ).rowcount  # type: ignore[attr-defined]
    if claimed == 0:
        return _replay(
            session, settings=settings, store=store, token_id=token.id, presented=refresh_token
        )
    user = _still_member(session, token)
    return issue_tokens(
        session,
        user=user,
        organisation_id=token.organisation_id,
        settings=settings,
        family=token.family,
        refresh=successor,
    )


def _still_member(session: Session, token: RefreshToken) -> User:
    user = session.get_one(User, token.user_id)
    membership = session.scalar(
        scoped(
            select(Membership.id).where(Membership.user_id == user.id),
            Membership,
            token.organisation_id,
        )
    )
    if membership is None:
        raise Unauthenticated("membership has ended", code="auth.membership_ended")
    return user


def _replay(
    session: Session, *, settings: Settings, store: SharedStore, token_id: int, presented: str
) -> TokenPair:
    now = datetime.now(UTC)
    # Read again: a concurrent rotation that won has committed by now (on PostgreSQL its row
    # lock held our UPDATE until then), with the successor it sealed.
    token = session.scalars(
        select(RefreshToken)
        .where(RefreshToken.id == token_id)
        .execution_options(populate_existing=True)
    ).one()
    successor = _unused_successor(session, token, presented=presented, settings=settings, now=now)
    if successor is None:
        revoke_family(session, family=token.family)
        publish_revocation(store, token.family, ttl_s=settings.access_token_ttl_s, required=False)
        raise RefreshTokenReused
    user = _still_member(session, token)
    access = encode_access_token(
        AccessClaims(user.id, token.organisation_id, user.token_version, token.family),
        secret=settings.secret_key.get_secret_value(),
        ttl_s=settings.access_token_ttl_s,
    )
    return TokenPair(access, successor, settings.access_token_ttl_s, token.organisation_id)


def _unused_successor(
    session: Session, token: RefreshToken, *, presented: str, settings: Settings, now: datetime
) -> str | None:
    """The successor `token` was exchanged for, if this is a replay within the grace window
    and that successor is still unused; else None (a replay that ends the session)."""
    grace = timedelta(seconds=settings.refresh_reuse_grace_s)
    if (
        token.used_at is None
        or token.used_at + grace < now
        or token.revoked_at is not None
        or token.successor_sealed is None
    ):
        return None
    successor = unseal(token.successor_sealed, under=presented)
    if successor is None:
        return None
    row = session.scalars(
        select(RefreshToken).where(
            RefreshToken.token_hash == digest(successor), RefreshToken.family == token.family
        )
    ).one_or_none()
    if row is None or row.used_at is not None or row.revoked_at is not None:
        return None
    return successor


def _revoke_refresh_tokens(session: Session, which: ColumnElement[bool]) -> None:
    session.execute(
        update(RefreshToken)
        .where(which, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


def lock_sessions(session: Session, *, user_id: int) -> None:
    """Every change to a user's refresh tokens (rotation, logout, ending all sessions) takes
    turns on the user's row first, until the commit. Without it, a refresh and a logout of
    one session updated its token rows in opposite orders and PostgreSQL aborted them as
    deadlocks (13 of 20 requests in one burst of the race harness): the same UPDATE visits
    rows in heap order in one plan and in index order in another. FOR NO KEY UPDATE: the
    foreign-key checks of new rows (a login's token) never wait for it."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))


def end_all_sessions(session: Session, *, user: User) -> None:
    """Every session of the user ends: access tokens by the version bump, refresh tokens
    revoked (a password change or reset)."""
    lock_sessions(session, user_id=user.id)
    user.token_version += 1
    _revoke_refresh_tokens(session, RefreshToken.user_id == user.id)


def revoke_family(session: Session, *, family: str) -> None:
    _revoke_refresh_tokens(session, RefreshToken.family == family)


def log_out(session: Session, actor: Actor, *, settings: Settings, store: SharedStore) -> None:
    """End the actor's login session (system work has none to end)."""
    family = actor.session_family
    if actor.user_id is None or family is None:
        raise Unauthenticated("there is no login session to end", code="auth.session_invalid")
    lock_sessions(session, user_id=actor.user_id)
    revoke_family(session, family=family)
    publish_revocation(store, family, ttl_s=settings.access_token_ttl_s, required=True)


def change_password(
    session: Session,
    actor: Actor,
    *,
    settings: Settings,
    current_password: str,
    new_password: str,
) -> TokenPair:
    """Every other session ends: access tokens by the version bump, refresh tokens revoked."""
    user = session.get_one(User, actor.user_id)
    if not verify_password(current_password, user.password_hash):
        raise Unauthenticated("current password is wrong", code="auth.wrong_password")
    user.password_hash = hash_password(new_password, rounds=settings.bcrypt_rounds)
    end_all_sessions(session, user=user)
    record(session, actor, action="change_password", entity="user", entity_id=user.id)
    session.flush()
    return issue_tokens(
        session, user=user, organisation_id=actor.organisation_id, settings=settings
    )
