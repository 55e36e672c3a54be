"""Whether a person is there when an event happens: the one check behind every way of taking a
place (signing up, joining a waitlist, an assignment, taking a swap, a waitlist promotion).

The rule itself is the solver's (`solver.absence_reason`), applied to the person's windows and
time off as `windows_and_time_off` reads them for the solver too, so the scheduler, the rule
checker and these use cases can never disagree about who is away. Admins may place someone
anyway (`override`); the assignment then names the rule it overrides, and the audit log says so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.availability.errors import OnTimeOff, OutsideAvailability
from signupflow.availability.models import AvailabilityWindow, TimeOff
from signupflow.errors import PermissionDenied
from signupflow.events.models import Event
from signupflow.people.models import MemberRole, Person
from signupflow.scheduling.solver import DayRange, Slot, Window, absence_reason
from signupflow.scheduling.solver import Person as SolverPerson
from signupflow.scheduling.solver.calendar import localise
from signupflow.tenancy import scoped

Windows = dict[int, tuple[Window, ...]]
Leave = dict[int, tuple[DayRange, ...]]


def windows_and_time_off(
    session: Session, organisation_id: int, person_ids: Collection[int] | None = None
) -> tuple[Windows, Leave]:
    """Each person's weekly windows (by weekday and start) and time off (by first day), for
    the given people or the whole organisation."""
    windows_query = scoped(select(AvailabilityWindow), AvailabilityWindow, organisation_id)
    leave_query = scoped(select(TimeOff), TimeOff, organisation_id)
    if person_ids is not None:
        windows_query = windows_query.where(AvailabilityWindow.person_id.in_(person_ids))
        leave_query = leave_query.where(TimeOff.person_id.in_(person_ids))
    windows: dict[int, list[Window]] = {}
    for w in session.scalars(windows_query).all():
        windows.setdefault(w.person_id, []).append(Window(w.weekday, w.start_time, w.end_time))
    leave: dict[int, list[DayRange]] = {}
    for t in session.scalars(leave_query).all():
        leave.setdefault(t.person_id, []).append(DayRange(t.starts_on, t.ends_on))
    return (
        {pid: tuple(sorted(ws, key=lambda w: (w.weekday, w.start))) for pid, ws in windows.items()},
        {pid: tuple(sorted(rs, key=lambda r: r.first)) for pid, rs in leave.items()},
    )


@dataclass(frozen=True)
class Away:
    reason: str  # "time_off" or "availability", as the solver's rules name them
    day: date  # the event's local date


def away_at(
    session: Session, actor: Actor, event: Event, person_ids: Collection[int]
) -> dict[int, Away]:
    """Who of `person_ids` is away when `event` happens, in the organisation's local time
    (those who are there are left out): one read of their windows and time off."""
    windows, leave = windows_and_time_off(session, actor.organisation_id, person_ids)
    zone = ZoneInfo(actor.organisation.timezone)
    local = localise(Slot(0, event.id, "", event.starts_at, event.ends_at, 1), zone)
    found = {}
    for person_id in person_ids:
        them = SolverPerson(
            person_id, frozenset(), windows.get(person_id, ()), leave.get(person_id, ())
        )
        reason = absence_reason(them, local)
        if reason:
            found[person_id] = Away(reason, local.start.date())
    return found


def require_there(
    session: Session, actor: Actor, event: Event, person: Person, *, override: bool = False
) -> str | None:
    """Refuse a place at `event` to someone away then (409 `person.on_time_off` or
    `person.outside_availability`). An admin may `override`: the rule overridden is returned,
    for the assignment and the audit log (None when the person is there anyway)."""
    if override and not actor.at_least(MemberRole.ADMIN):
        raise PermissionDenied(
            "only admins may assign someone who is away", code="assignment.override_admin_only"
        )
    absent = away_at(session, actor, event, [person.id]).get(person.id)
    if absent is None:
        return None
    if not override:
        error = OnTimeOff if absent.reason == "time_off" else OutsideAvailability
        raise error(person, absent.day)
    return absent.reason
