from __future__ import annotations

from datetime import datetime

from pydantic import Field

from signupflow.schemas import ApiModel, JsonId, LongText, Name, ReadModel


class TeamCreate(ApiModel):
    name: Name
    description: LongText = ""
    member_ids: list[JsonId] = Field(default_factory=list, max_length=1000)


class TeamUpdate(ApiModel):
    name: Name | None = None
    description: LongText | None = None
    member_ids: list[JsonId] | None = Field(default=None, max_length=1000)


class TeamRead(ReadModel):
    id: int
    name: str
    description: str
    member_ids: list[int]
    created_at: datetime
