"""Weekly availability windows and time off. People manage their own; schedulers anyone's."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.availability.models import AvailabilityWindow, TimeOff
from signupflow.availability.schemas import TimeOffCreate, WindowCreate
from signupflow.errors import InvalidInput, PermissionDenied
from signupflow.people.models import MemberRole, Person
from signupflow.tenancy import get_scoped, scoped

Row = TypeVar("Row", AvailabilityWindow, TimeOff)


def _check_access(session: Session, actor: Actor, person_id: int) -> Person:
    person = get_scoped(session, Person, person_id, actor.organisation_id)
    if person.id != actor.person_id and not actor.at_least(MemberRole.SCHEDULER):
        raise PermissionDenied(
            "you can only manage your own availability", code="availability.own_only"
        )
    return person


def availability_of(
    session: Session, actor: Actor, person_id: int
) -> tuple[list[AvailabilityWindow], list[TimeOff]]:
    _check_access(session, actor, person_id)
    windows = session.scalars(
        scoped(select(AvailabilityWindow), AvailabilityWindow, actor.organisation_id)
        .where(AvailabilityWindow.person_id == person_id)
        .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_time)
    ).all()
    time_off = session.scalars(
        scoped(select(TimeOff), TimeOff, actor.organisation_id)
        .where(TimeOff.person_id == person_id)
        .order_by(TimeOff.starts_on)
    ).all()
    return list(windows), list(time_off)


def _add(session: Session, actor: Actor, row: Row, entity: str, changes: dict[str, str]) -> Row:
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        action="create",
        entity=entity,
        entity_id=row.id,
        changes=changes,
    )
    return row


def add_window(
    session: Session, actor: Actor, person_id: int, data: WindowCreate
) -> AvailabilityWindow:
    _check_access(session, actor, person_id)
    window = AvailabilityWindow(
        organisation_id=actor.organisation_id,
        person_id=person_id,
        weekday=data.weekday,
        start_time=data.start_time,
        end_time=data.end_time,
    )
    return _add(session, actor, window, "availability_window", data.model_dump(mode="json"))


def add_time_off(session: Session, actor: Actor, person_id: int, data: TimeOffCreate) -> TimeOff:
    _check_access(session, actor, person_id)
    # Time off is for planning: days that are over change no schedule, so a past period is a
    # typo (2019 for 2029), refused rather than stored silently.
    today = datetime.now(ZoneInfo(actor.organisation.timezone)).date()
    if data.ends_on < today:
        raise InvalidInput(
            "the time off is over; give days from today on",
            code="time_off.in_past",
            params={"today": today.isoformat()},
            field="ends_on",
        )
    time_off = TimeOff(
        organisation_id=actor.organisation_id,
        person_id=person_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        reason=data.reason,
    )
    return _add(session, actor, time_off, "time_off", data.model_dump(mode="json"))


def remove(session: Session, actor: Actor, model: type[Row], row_id: int) -> None:
    row = get_scoped(session, model, row_id, actor.organisation_id, for_change=True)
    _check_access(session, actor, row.person_id)
    session.delete(row)
    record(
        session,
        actor,
        action="delete",
        entity=model.__tablename__,
        entity_id=row_id,
    )
    session.flush()
