from __future__ import annotations

from datetime import datetime
from typing import Annotated

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
    # Scheduling limits and wishes; null clears one.
    max_per_week: int | None = Field(default=None, ge=0, le=50, strict=True)
    max_per_month: int | None = Field(default=None, ge=0, le=200, strict=True)
    min_rest_hours: int | None = Field(default=None, ge=0, le=24 * 14, strict=True)
    preferred_roles: Roles | None = Field(default=None, max_length=50)
    avoid_weekdays: list[Annotated[int, Field(ge=0, le=6, strict=True)]] | None = Field(
        default=None, max_length=7, description="0 = Monday … 6 = Sunday"
    )


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
    max_per_week: int | None = None
    max_per_month: int | None = None
    min_rest_hours: int | None = None
    preferred_roles: list[str] | None = None
    avoid_weekdays: list[int] | None = None
    created_at: datetime


class ImportResultRead(ReadModel):
    dry_run: bool
    created: int
    updated: int
    unchanged: int
