from __future__ import annotations

from fastapi import APIRouter, status

from signupflow.availability import service
from signupflow.availability.models import AvailabilityWindow, TimeOff
from signupflow.availability.schemas import (
    Availability,
    TimeOffCreate,
    TimeOffRead,
    WindowCreate,
    WindowRead,
)
from signupflow.deps import API_PREFIX, DbSession, Member
from signupflow.schemas import Id

router = APIRouter(prefix=API_PREFIX, tags=["availability"])


@router.get("/people/{person_id}/availability", response_model=Availability)
def get_availability(session: DbSession, actor: Member, person_id: Id) -> Availability:
    """A person's weekly windows and time off (yours, or anyone's for schedulers)."""
    windows, time_off = service.availability_of(session, actor, person_id)
    return Availability(
        windows=[WindowRead.model_validate(w) for w in windows],
        time_off=[TimeOffRead.model_validate(t) for t in time_off],
    )


@router.post(
    "/people/{person_id}/availability",
    response_model=WindowRead,
    status_code=status.HTTP_201_CREATED,
)
def add_window(session: DbSession, actor: Member, person_id: Id, data: WindowCreate) -> WindowRead:
    """Add a weekly window, in the organisation's local time."""
    return WindowRead.model_validate(service.add_window(session, actor, person_id, data))


@router.delete("/availability/{window_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_window(session: DbSession, actor: Member, window_id: Id) -> None:
    service.remove(session, actor, AvailabilityWindow, window_id)


@router.post(
    "/people/{person_id}/time-off", response_model=TimeOffRead, status_code=status.HTTP_201_CREATED
)
def add_time_off(
    session: DbSession, actor: Member, person_id: Id, data: TimeOffCreate
) -> TimeOffRead:
    """Mark whole days (inclusive) when the person cannot serve."""
    return TimeOffRead.model_validate(service.add_time_off(session, actor, person_id, data))


@router.delete("/time-off/{time_off_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_time_off(session: DbSession, actor: Member, time_off_id: Id) -> None:
    service.remove(session, actor, TimeOff, time_off_id)
