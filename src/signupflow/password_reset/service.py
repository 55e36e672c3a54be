"""Password reset by e-mail: a single-use, expiring token (only its hash is stored). Asking
answers the same whether or not the address has an account, and does the same kind of work
either way, so neither the answer nor its timing tells who has one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.auth.models import User
from signupflow.auth.passwords import hash_password
from signupflow.auth.service import end_all_sessions
from signupflow.auth.tokens import digest, new_opaque_token
from signupflow.notifications.models import NotificationKind
from signupflow.notifications.service import enqueue
from signupflow.organisations.models import Organisation
from signupflow.password_reset.errors import InvalidResetToken
from signupflow.password_reset.models import PasswordReset
from signupflow.people.models import Membership, Person
from signupflow.settings import Settings
from signupflow.tenancy import scoped


def _recipient(session: Session, user: User) -> Person | None:
    """The person record to address: the one in the user's oldest membership."""
    memberships = session.scalars(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    ).all()
    for membership in memberships:
        person = session.scalars(
            scoped(
                select(Person).where(Person.user_id == user.id),
                Person,
                membership.organisation_id,
            )
        ).first()
        if person is not None:
            return person
    return None


def request_reset(session: Session, *, email: str, settings: Settings) -> None:
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    # Unknown addresses still mint and hash a token: the same work as for a real one.
    token = new_opaque_token()
    token_hash = digest(token)
    if user is None:
        return
    person = _recipient(session, user)
    if person is None:  # an account with no membership left has nowhere to log in
        return
    reset = PasswordReset(
        user_id=user.id,
        token_hash=token_hash,
        expires_at=datetime.now(UTC) + timedelta(seconds=settings.password_reset_ttl_s),
    )
    session.add(reset)
    session.flush()
    enqueue(
        session,
        organisation_id=person.organisation_id,
        person_id=person.id,
        kind=NotificationKind.PASSWORD_RESET,
        # The address the account logs in with, even if the person record says otherwise.
        data={"token": token, "ttl_minutes": settings.password_reset_ttl_s // 60, "to": email},
        dedupe_key=f"password-reset:{reset.id}",
    )


def confirm_reset(session: Session, *, token: str, password: str, settings: Settings) -> None:
    now = datetime.now(UTC)
    # One conditional UPDATE: of two concurrent confirmations with one token, exactly one wins.
    user_id = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == digest(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordReset.user_id)
    ).scalar_one_or_none()
    if user_id is None:
        raise InvalidResetToken(
            "this reset link is unknown, used or expired; ask for a new one",
            code="password_reset.invalid_token",
        )
    user = session.get_one(User, user_id)
    user.password_hash = hash_password(password, rounds=settings.bcrypt_rounds)
    end_all_sessions(session, user=user)
    # Any other outstanding link for this account stops working too.
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    person = _recipient(session, user)
    if person is not None:
        # A reset link, not a login session, stands behind the change.
        by_link = Actor.system(
            session.get_one(Organisation, person.organisation_id), user_id=user.id
        )
        record(
            session,
            by_link,
            action="reset_password",
            entity="user",
            entity_id=user.id,
        )
    session.flush()
