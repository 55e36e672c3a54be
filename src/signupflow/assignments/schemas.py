from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from signupflow.assignments.models import AssignmentSource, AssignmentStatus, WaitlistEntry
from signupflow.schemas import ApiModel, JsonId, ReadModel, ResponseModel, RoleName


class SignUp(ApiModel):
    role: RoleName


class AssignmentCreate(ApiModel):
    person_id: JsonId
    role: RoleName
    override: bool = Field(
        default=False,
        description="Admins only: place the person although they are away then (time off or "
        "outside their availability); the assignment keeps the rule overridden, and the audit "
        "log records it. Without it such a place is refused (409 person.on_time_off or "
        "person.outside_availability).",
    )


class AssignmentRead(ReadModel):
    id: int
    event_id: int
    slot_id: int
    person_id: int
    role: str
    status: AssignmentStatus
    source: AssignmentSource
    created_at: datetime
    overridden_rule: Literal["time_off", "availability"] | None = Field(
        default=None,
        description='The rule an admin overrode to place someone away then ("time_off" or '
        '"availability"); null for every other place',
    )


class WaitlistEntryRead(ResponseModel):
    id: int
    event_id: int
    slot_id: int
    person_id: int
    role: str
    position: int = Field(description="1 is next in line for this role slot")
    created_at: datetime

    @classmethod
    def of(cls, entry: WaitlistEntry, position: int) -> WaitlistEntryRead:
        return cls(
            id=entry.id,
            event_id=entry.event_id,
            slot_id=entry.slot_id,
            person_id=entry.person_id,
            role=entry.role,
            position=position,
            created_at=entry.created_at,
        )
