from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from signupflow.scheduling.models import EntrySource, ScheduleStatus
from signupflow.schemas import ApiModel, Instant, JsonId, ReadModel, ResponseModel, invalid


class SolveRequest(ApiModel):
    starts_at: Instant = Field(description="Events starting at or after this instant")
    ends_at: Instant = Field(description="... and before this one")
    time_limit_s: float | None = Field(
        default=None, gt=0, le=120, description="Default: the server's SOLVER_TIME_LIMIT_S"
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, strict=True)

    @model_validator(mode="after")
    def _check(self) -> SolveRequest:
        if self.ends_at <= self.starts_at:
            raise invalid("ends_at", "schedule.range_order", "ends_at must be after starts_at")
        return self


class EntryCreate(ApiModel):
    slot_id: JsonId
    person_id: JsonId


class EntryRead(ReadModel):
    id: int
    event_id: int
    slot_id: int
    person_id: int
    role: str
    source: EntrySource


class ScheduleSummary(ReadModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    status: ScheduleStatus
    published_at: datetime | None
    created_at: datetime
    report: dict[str, Any] = Field(
        description="The run: engine, coverage, unfilled slots with reasons, hard violations "
        "(always empty), fairness, changes against the published schedule, timing"
    )


class ScheduleRead(ScheduleSummary):
    entries: list[EntryRead]


class Comparison(ResponseModel):
    schedule_id: int
    against_id: int | None
    added: list[EntryRead]
    removed: list[EntryRead]
    unchanged: list[EntryRead]


class PublishRead(ResponseModel):
    schedule: ScheduleSummary
    added: int
    removed: int
    promoted: int = Field(
        description="People given places the change freed, from the slots' waitlists"
    )
    changed_person_ids: list[int] = Field(description="People whose assignments changed")
