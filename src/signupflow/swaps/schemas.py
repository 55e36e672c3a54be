from __future__ import annotations

from datetime import datetime

from signupflow.schemas import ApiModel, JsonId, ReadModel, ShortText
from signupflow.swaps.models import SwapState


class SwapOfferCreate(ApiModel):
    offered_to_person_id: JsonId | None = None
    note: ShortText = ""


class SwapTake(ApiModel):
    person_id: JsonId | None = None


class SwapRead(ReadModel):
    id: int
    assignment_id: int | None
    event_id: int
    role: str
    offered_by_person_id: int
    offered_to_person_id: int | None
    taken_by_person_id: int | None
    note: str
    state: SwapState
    created_at: datetime
