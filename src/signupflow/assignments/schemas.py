from __future__ import annotations

from datetime import datetime

from signupflow.assignments.models import AssignmentSource, AssignmentStatus
from signupflow.schemas import ApiModel, JsonId, ReadModel, RoleName


class SignUp(ApiModel):
    role: RoleName


class AssignmentCreate(ApiModel):
    person_id: JsonId
    role: RoleName


class AssignmentRead(ReadModel):
    id: int
    event_id: int
    slot_id: int
    person_id: int
    role: str
    status: AssignmentStatus
    source: AssignmentSource
    created_at: datetime
