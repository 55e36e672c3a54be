"""Registering an organisation (the public sign-up): an organisation and its first admin,
created once the admin's e-mail address is confirmed. Asking answers the same, and does the
same kind of work, whether or not the address has an account; the owner of an existing
account is told by e-mail instead, so neither the answer nor its timing tells who has one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.auth.models import PendingSignUp, User
from signupflow.auth.passwords import hash_password
from signupflow.auth.service import TokenPair, issue_tokens
from signupflow.auth.tokens import digest, new_opaque_token
from signupflow.db.conflicts import savepoint
from signupflow.errors import Conflict, NotFound
from signupflow.notifications.models import NotificationKind
from signupflow.notifications.service import enqueue
from signupflow.organisations.models import Organisation
from signupflow.people.models import MemberRole, Membership, Person
from signupflow.settings import Settings


@dataclass(frozen=True)
class NewOrganisation:
    organisation_name: str
    slug: str
    timezone: str
    locale: str
    admin_name: str
    email: str


def _slug_taken(slug: str) -> Conflict:
    return Conflict(
        f"the address '{slug}' is taken; choose another",
        code="organisation.slug_taken",
        params={"slug": slug},
    )


def request_registration(
    session: Session, *, settings: Settings, new: NewOrganisation, password: str
) -> None:
    """Mail a confirmation link, or, when the address already has an account, a note telling
    its owner to log in or reset the password. Slugs are public, so a taken one is said."""
    if session.scalar(select(Organisation.id).where(Organisation.slug == new.slug)) is not None:
        raise _slug_taken(new.slug)
    session.execute(delete(PendingSignUp).where(PendingSignUp.expires_at <= datetime.now(UTC)))
    # Both paths hash the password and draw a token: the same work either way.
    password_hash = hash_password(password, rounds=settings.bcrypt_rounds)
    token = new_opaque_token()
    recipient = {"to": new.email, "language": new.locale, "organisation": new.organisation_name}
    if session.scalar(select(User.id).where(User.email == new.email)) is not None:
        enqueue(
            session,
            organisation_id=None,
            person_id=None,
            kind=NotificationKind.SIGNUP_EXISTING,
            # The name typed into the form is not necessarily the account owner's.
            data={**recipient, "name": ""},
            dedupe_key=f"signup-existing:{digest(token)}",
        )
        return
    pending = PendingSignUp(
        token_hash=digest(token),
        email=new.email,
        password_hash=password_hash,
        admin_name=new.admin_name,
        organisation_name=new.organisation_name,
        slug=new.slug,
        timezone=new.timezone,
        locale=new.locale,
        expires_at=datetime.now(UTC) + timedelta(seconds=settings.signup_ttl_s),
    )
    session.add(pending)
    session.flush()
    enqueue(
        session,
        organisation_id=None,
        person_id=None,
        kind=NotificationKind.SIGNUP_CONFIRM,
        data={
            **recipient,
            "name": new.admin_name,
            "token": token,
            "ttl_hours": max(1, settings.signup_ttl_s // 3600),
        },
        dedupe_key=f"signup:{pending.id}",
    )


def confirm_registration(session: Session, *, settings: Settings, token: str) -> TokenPair:
    """Create the organisation and its admin from a confirmed sign-up and log the admin in.
    The link works once: the sign-up is deleted as it is read, so of two concurrent
    confirmations one wins."""
    pending = session.execute(
        delete(PendingSignUp)
        .where(
            PendingSignUp.token_hash == digest(token),
            PendingSignUp.expires_at > datetime.now(UTC),
        )
        .returning(
            PendingSignUp.organisation_name,
            PendingSignUp.slug,
            PendingSignUp.timezone,
            PendingSignUp.locale,
            PendingSignUp.admin_name,
            PendingSignUp.email,
            PendingSignUp.password_hash,
        )
    ).one_or_none()
    if pending is None:
        raise NotFound(
            "this sign-up link is unknown, used or expired; sign up again",
            code="signup.link_unusable",
        )
    new = NewOrganisation(
        organisation_name=pending.organisation_name,
        slug=pending.slug,
        timezone=pending.timezone,
        locale=pending.locale,
        admin_name=pending.admin_name,
        email=pending.email,
    )
    organisation, user = create_organisation(session, new=new, password_hash=pending.password_hash)
    return issue_tokens(session, user=user, organisation_id=organisation.id, settings=settings)


def create_organisation(
    session: Session, *, new: NewOrganisation, password_hash: str
) -> tuple[Organisation, User]:
    """An organisation with its first admin (a new account). The confirmed sign-up and the
    demo loader create organisations this way."""
    if session.scalar(select(Organisation.id).where(Organisation.slug == new.slug)) is not None:
        raise _slug_taken(new.slug)
    if session.scalar(select(User.id).where(User.email == new.email)) is not None:
        # Only the owner of the address gets here (through the mailed link), so saying so
        # reveals nothing they do not know.
        raise Conflict(
            "an account with this e-mail exists; log in instead",
            code="account.email_taken",
        )
    organisation = Organisation(
        slug=new.slug, name=new.organisation_name, timezone=new.timezone, locale=new.locale
    )
    user = User(email=new.email, password_hash=password_hash)
    # A concurrent sign-up taking the slug or the address is its 409 (db/conflicts.py).
    with savepoint(session):
        session.add_all([organisation, user])
        session.flush()
    session.add_all(
        [
            Membership(organisation_id=organisation.id, user_id=user.id, role=MemberRole.ADMIN),
            Person(
                organisation_id=organisation.id,
                user_id=user.id,
                name=new.admin_name,
                email=new.email,
                language=new.locale,
            ),
        ]
    )
    record(
        session,
        Actor(organisation, MemberRole.ADMIN, user.id),
        action="create",
        entity="organisation",
        entity_id=organisation.id,
        changes={"slug": new.slug},
    )
    session.flush()
    return organisation, user
