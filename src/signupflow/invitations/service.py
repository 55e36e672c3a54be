"""Invitations: an admin invites an e-mail address; accepting creates (or links) the login
and the membership. Tokens are single use: accepting is a conditional UPDATE. An existing
account accepts while logged in as itself, never with its password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.auth.models import User
from signupflow.auth.passwords import hash_password
from signupflow.auth.service import TokenPair, issue_tokens
from signupflow.auth.tokens import digest, new_opaque_token
from signupflow.db.pagination import paginate
from signupflow.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from signupflow.invitations.models import Invitation
from signupflow.invitations.schemas import InvitationCreate, InvitationState
from signupflow.notifications.models import NotificationKind
from signupflow.notifications.service import enqueue
from signupflow.organisations.models import Organisation
from signupflow.organisations.service import lock_organisation
from signupflow.people.models import Membership, Person, PersonSkill
from signupflow.settings import Settings
from signupflow.tenancy import get_scoped, scoped


def state_of(invitation: Invitation, now: datetime | None = None) -> InvitationState:
    now = now or datetime.now(UTC)
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= now else "pending"


@dataclass(frozen=True)
class CreatedInvitation:
    invitation: Invitation
    token: str


def create_invitation(
    session: Session, actor: Actor, data: InvitationCreate, settings: Settings
) -> CreatedInvitation:
    lock_organisation(session, actor.organisation_id)  # one pending invitation each
    person = session.scalars(
        scoped(
            select(Person).where(Person.email == data.email), Person, actor.organisation_id
        ).options(selectinload(Person.skills))
    ).one_or_none()
    if person is not None and person.user_id is not None:
        raise Conflict(
            f"{data.email} is already a member",
            code="invitation.already_member",
            params={"email": data.email},
        )
    if person is None:
        person = Person(
            organisation_id=actor.organisation_id,
            name=data.name,
            email=data.email,
            language=actor.organisation.locale,
            skills=[PersonSkill(role=r) for r in sorted(set(data.roles))],
        )
        session.add(person)
        session.flush()
    # A new invitation replaces any still-pending one for the same person.
    session.execute(
        update(Invitation)
        .where(
            Invitation.person_id == person.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    token = new_opaque_token()
    invitation = Invitation(
        organisation_id=actor.organisation_id,
        person_id=person.id,
        invited_by_user_id=actor.user_id,
        email=data.email,
        role=data.role,
        token_hash=digest(token),
        expires_at=datetime.now(UTC) + timedelta(seconds=settings.invitation_ttl_s),
    )
    session.add(invitation)
    session.flush()
    record(
        session,
        actor,
        action="invite",
        entity="invitation",
        entity_id=invitation.id,
        changes={"person_id": person.id, "role": data.role.value},
    )
    enqueue(
        session,
        organisation_id=actor.organisation_id,
        person_id=person.id,
        kind=NotificationKind.INVITATION,
        data={"token": token, "expires_at": invitation.expires_at.isoformat(), "to": data.email},
        dedupe_key=f"invitation:{invitation.id}",
    )
    return CreatedInvitation(invitation, token)


def list_invitations(
    session: Session, actor: Actor, *, limit: int, offset: int
) -> tuple[list[Invitation], int]:
    stmt = scoped(select(Invitation), Invitation, actor.organisation_id)
    return paginate(session, stmt.order_by(Invitation.id.desc()), limit=limit, offset=offset)


def revoke_invitation(session: Session, actor: Actor, invitation_id: int) -> None:
    # Locked and read fresh: an acceptance committed meanwhile is seen, and one that comes
    # later finds the invitation revoked (its conditional UPDATE waits for this lock).
    invitation = get_scoped(
        session, Invitation, invitation_id, actor.organisation_id, for_change=True
    )
    if state_of(invitation) != "pending":
        raise Conflict(
            f"this invitation is already {state_of(invitation)}",
            code="invitation.not_pending",
            params={"state": state_of(invitation)},
        )
    invitation.revoked_at = datetime.now(UTC)
    record(
        session,
        actor,
        action="revoke",
        entity="invitation",
        entity_id=invitation.id,
    )
    session.flush()


def preview_invitation(session: Session, token: str) -> tuple[Invitation, Organisation]:
    """The invitation a link holds and its organisation, in whatever state: the page says
    "already accepted, log in" or "expired" instead of one word for every case."""
    found = session.execute(
        select(Invitation, Organisation)
        .join(Organisation, Organisation.id == Invitation.organisation_id)
        .where(Invitation.token_hash == digest(token))
    ).one_or_none()
    if found is None:
        raise NotFound("this invitation is unknown", code="invitation.unknown")
    return found.Invitation, found.Organisation


def accept_invitation(
    session: Session,
    *,
    token: str,
    password: str | None,
    caller_user_id: int | None,
    settings: Settings,
) -> TokenPair:
    """An address without an account gets one with `password`. An address with an account
    joins only when the caller is logged in as that account: a password here would let
    whoever holds the invitation (the inviting organisation) guess at it."""
    now = datetime.now(UTC)
    invitation = session.scalars(
        select(Invitation).where(Invitation.token_hash == digest(token))
    ).one_or_none()
    if invitation is None or state_of(invitation, now) != "pending":
        raise NotFound(
            "this invitation is unknown, used, revoked or expired", code="invitation.unusable"
        )
    user = session.scalars(select(User).where(User.email == invitation.email)).one_or_none()
    if user is not None and caller_user_id != user.id:
        raise Unauthenticated(
            "this e-mail has an account: log in as it, then accept",
            code="invitation.login_required",
        )
    if user is None and password is None:
        raise InvalidInput(
            "choose a password for the new account", code="invitation.password_missing"
        )
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if claimed == 0:
        raise NotFound(
            "this invitation is unknown, used, revoked or expired", code="invitation.unusable"
        )
    if user is None:
        assert password is not None
        user = User(
            email=invitation.email,
            password_hash=hash_password(password, rounds=settings.bcrypt_rounds),
        )
        session.add(user)
        session.flush()
    organisation_id = invitation.organisation_id
    existing = session.scalar(
        scoped(
            select(Membership.id).where(Membership.user_id == user.id), Membership, organisation_id
        )
    )
    if existing is not None:
        raise Conflict(
            "you are already a member of this organisation", code="invitation.already_joined"
        )
    session.add(Membership(organisation_id=organisation_id, user_id=user.id, role=invitation.role))
    person = session.get_one(Person, invitation.person_id)
    person.user_id = user.id
    joined = Actor(
        session.get_one(Organisation, organisation_id), invitation.role, user.id, person.id
    )
    record(
        session,
        joined,
        action="accept",
        entity="invitation",
        entity_id=invitation.id,
    )
    session.flush()
    return issue_tokens(session, user=user, organisation_id=organisation_id, settings=settings)
