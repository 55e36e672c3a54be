from __future__ import annotations

from datetime import date, time

from pydantic import Field, model_validator

from signupflow.schemas import ApiModel, Day, ReadModel, ShortText, invalid


class WindowCreate(ApiModel):
    weekday: int = Field(ge=0, le=6, strict=True, description="0 = Monday … 6 = Sunday")
    start_time: time = Field(description="Local time in the organisation's time zone")
    end_time: time

    @model_validator(mode="after")
    def _check(self) -> WindowCreate:
        if self.start_time.tzinfo is not None or self.end_time.tzinfo is not None:
            raise invalid(
                "start_time",
                "availability.offset_given",
                "times are local wall-clock times; give them without an offset",
            )
        if self.end_time <= self.start_time:
            raise invalid(
                "end_time", "availability.ends_before_start", "end_time must be after start_time"
            )
        return self


class WindowRead(ReadModel):
    id: int
    person_id: int
    weekday: int
    start_time: time
    end_time: time


class TimeOffCreate(ApiModel):
    starts_on: Day = Field(ge=date(2000, 1, 1), le=date(2200, 12, 31))
    ends_on: Day = Field(ge=date(2000, 1, 1), le=date(2200, 12, 31))
    reason: ShortText = ""

    @model_validator(mode="after")
    def _check(self) -> TimeOffCreate:
        if self.ends_on < self.starts_on:
            raise invalid(
                "ends_on", "time_off.ends_before_start", "ends_on must not be before starts_on"
            )
        return self


class TimeOffRead(ReadModel):
    id: int
    person_id: int
    starts_on: date
    ends_on: date
    reason: str


class Availability(ReadModel):
    windows: list[WindowRead]
    time_off: list[TimeOffRead]
