from __future__ import annotations

from datetime import datetime

from pydantic import Field, StrictBool

from signupflow.people.models import MemberRole
from signupflow.people.schemas import PersonRead
from signupflow.schemas import ApiModel, Locale, Name, ReadModel, ResponseModel, TimeZone


class OrganisationRead(ReadModel):
    id: int
    slug: str
    name: str
    timezone: str
    locale: str
    swaps_need_approval: bool
    created_at: datetime


class OrganisationUpdate(ApiModel):
    name: Name | None = None
    timezone: TimeZone | None = None
    locale: Locale | None = None
    swaps_need_approval: StrictBool | None = Field(
        default=None, description="Taken swap offers wait for an admin's approval"
    )


class Me(ResponseModel):
    user_id: int
    email: str
    role: MemberRole
    organisation: OrganisationRead
    person: PersonRead | None
