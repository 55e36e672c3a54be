from __future__ import annotations

from datetime import datetime

from signupflow.people.models import MemberRole
from signupflow.people.schemas import PersonRead
from signupflow.schemas import ApiModel, Locale, Name, ReadModel, TimeZone


class OrganisationRead(ReadModel):
    id: int
    slug: str
    name: str
    timezone: str
    locale: str
    created_at: datetime


class OrganisationUpdate(ApiModel):
    name: Name | None = None
    timezone: TimeZone | None = None
    locale: Locale | None = None


class Me(ApiModel):
    user_id: int
    email: str
    role: MemberRole
    organisation: OrganisationRead
    person: PersonRead | None
