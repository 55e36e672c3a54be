from __future__ import annotations

from datetime import datetime

from pydantic import Field, StrictBool

from signupflow.people.models import MemberRole
from signupflow.schemas import ApiModel, Email, Locale, Name, ReadModel, RoleName

Roles = list[RoleName]


class PersonCreate(ApiModel):
    name: Name
    email: Email
    language: Locale = "en"
    active: StrictBool = True
    roles: Roles = Field(default_factory=list, max_length=50)


class PersonUpdate(ApiModel):
    name: Name | None = None
    email: Email | None = None
    language: Locale | None = None
    active: StrictBool | None = None
    roles: Roles | None = Field(default=None, max_length=50)


class ProfileUpdate(ApiModel):
    """What volunteers may change about themselves."""

    name: Name | None = None
    language: Locale | None = None


class MemberRoleUpdate(ApiModel):
    role: MemberRole


class PersonRead(ReadModel):
    id: int
    name: str
    email: str
    language: str
    active: bool
    roles: list[str]
    has_login: bool
    created_at: datetime


class ImportResultRead(ReadModel):
    dry_run: bool
    created: int
    updated: int
    unchanged: int
