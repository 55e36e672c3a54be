from __future__ import annotations

from fastapi import APIRouter, status

from signupflow.auth.schemas import TokenResponse
from signupflow.auth.secret_checks import SecretChecked
from signupflow.auth.tokens import digest
from signupflow.deps import (
    API_PREFIX,
    Admin,
    AppSettings,
    DbSession,
    OptionalActor,
    Pagination,
)
from signupflow.invitations import service
from signupflow.invitations.models import Invitation
from signupflow.invitations.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationLookup,
    InvitationPreview,
    InvitationRead,
)
from signupflow.schemas import Id, Page

router = APIRouter(prefix=f"{API_PREFIX}/invitations", tags=["invitations"])


def _read(invitation: Invitation) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        person_id=invitation.person_id,
        state=service.state_of(invitation),
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
    )


@router.post("", response_model=InvitationCreated, status_code=status.HTTP_201_CREATED)
def create_invitation(
    session: DbSession, actor: Admin, settings: AppSettings, data: InvitationCreate
) -> InvitationCreated:
    """Invite someone by e-mail. The response carries the token and link once; a new
    invitation for the same person revokes the previous one."""
    created = service.create_invitation(session, actor, data, settings)
    return InvitationCreated(
        **_read(created.invitation).model_dump(),
        token=created.token,
        accept_url=f"{settings.public_url.rstrip('/')}/#/accept?token={created.token}",
    )


@router.get("", response_model=Page[InvitationRead])
def list_invitations(session: DbSession, actor: Admin, page: Pagination) -> Page[InvitationRead]:
    items, total = service.list_invitations(session, actor, limit=page.limit, offset=page.offset)
    return Page(items=[_read(i) for i in items], total=total, limit=page.limit, offset=page.offset)


@router.delete("/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_invitation(session: DbSession, actor: Admin, invitation_id: Id) -> None:
    service.revoke_invitation(session, actor, invitation_id)


@router.post("/accept", response_model=TokenResponse)
def accept_invitation(
    session: DbSession,
    settings: AppSettings,
    caller: OptionalActor,
    budget: SecretChecked,
    data: InvitationAccept,
) -> TokenResponse:
    """Accept an invitation. For an e-mail without an account, no login is needed: give the
    new account's password. For an e-mail that has an account, log in as that account (in any
    organisation) and accept with its bearer token; no password is taken. Logs the new member
    in. Limited per invitation and per client address."""
    budget.spend(digest(data.token))
    pair = service.accept_invitation(
        session,
        token=data.token,
        password=data.password,
        caller_user_id=caller.user_id if caller else None,
        settings=settings,
    )
    return TokenResponse.of(pair)


@router.post("/preview", response_model=InvitationPreview)
def preview_invitation(
    session: DbSession, budget: SecretChecked, data: InvitationLookup
) -> InvitationPreview:
    """Who invites the holder of this token, to which address, and whether the invitation is
    still open (pending), already accepted, revoked or expired. The token travels in the body,
    never in a URL that logs keep. Limited per invitation and per client address."""
    budget.spend(digest(data.token))
    invitation, organisation = service.preview_invitation(session, data.token)
    return InvitationPreview(
        organisation_name=organisation.name,
        organisation_slug=organisation.slug,
        email=invitation.email,
        state=service.state_of(invitation),
        expires_at=invitation.expires_at,
    )
