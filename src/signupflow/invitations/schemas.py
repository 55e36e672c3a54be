from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from signupflow.people.models import MemberRole
from signupflow.people.schemas import Roles
from signupflow.schemas import ApiModel, Email, Name, Password, ReadModel

InvitationState = Literal["pending", "accepted", "revoked", "expired"]


class InvitationCreate(ApiModel):
    email: Email
    name: Name
    role: MemberRole = MemberRole.VOLUNTEER
    roles: Roles = Field(default_factory=list, max_length=50, description="Roles they can fill")


class InvitationRead(ReadModel):
    id: int
    email: str
    role: MemberRole
    person_id: int
    state: InvitationState
    expires_at: datetime
    created_at: datetime


class InvitationCreated(InvitationRead):
    token: str = Field(description="Shown once; only its hash is stored")
    accept_url: str


class InvitationAccept(ApiModel):
    token: str = Field(min_length=16, max_length=128)
    password: Password | None = Field(
        default=None,
        description="The new account's password. Not taken when the e-mail already has an "
        "account: log in as that account and accept with its bearer token instead",
    )


class InvitationLookup(ApiModel):
    token: str = Field(min_length=16, max_length=128)


class InvitationPreview(ReadModel):
    """What the holder of an invitation link is invited to, before they answer it."""

    organisation_name: str
    organisation_slug: str = Field(description="The organisation code members log in with")
    email: str
    state: InvitationState
    expires_at: datetime
