"""The solver's view of an organisation over a date range, read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from signupflow.assignments.models import Assignment, AssignmentSource, AssignmentStatus
from signupflow.availability.eligibility import windows_and_time_off
from signupflow.events.models import Event, EventSlot, EventStatus
from signupflow.people.models import Person
from signupflow.scheduling.solver import (
    Commitment,
    Placement,
    Problem,
    Slot,
)
from signupflow.scheduling.solver import Person as SolverPerson
from signupflow.tenancy import scoped


@dataclass(frozen=True)
class Snapshot:
    problem: Problem
    slots: dict[int, EventSlot]
    # Solver-made assignments not yet confirmed: the only ones publishing may change.
    movable: dict[Placement, Assignment]


def is_movable(assignment: Assignment) -> bool:
    return (
        assignment.source == AssignmentSource.SOLVER
        and assignment.status == AssignmentStatus.PENDING
    )


def events_in_range(
    session: Session, organisation_id: int, starts: datetime, ends: datetime
) -> list[Event]:
    """Events that start inside [starts, ends) and are not cancelled."""
    return list(
        session.scalars(
            scoped(select(Event), Event, organisation_id)
            .where(Event.starts_at >= starts, Event.starts_at < ends)
            .where(Event.status != EventStatus.CANCELLED)
            .options(selectinload(Event.slots))
            .order_by(Event.starts_at, Event.id)
        ).all()
    )


# Far enough either side of a range to reach the start of its first month (31 days) and the end
# of its last, plus the longest minimum rest a person can ask for (14 days).
OUTSIDE_HORIZON = timedelta(days=46)


def _held_outside(
    session: Session, organisation_id: int, starts: datetime, ends: datetime
) -> list[Commitment]:
    """Places people hold at events just before and after the range (see Commitment)."""
    near = (Event.starts_at >= starts - OUTSIDE_HORIZON) & (Event.starts_at < starts)
    near |= (Event.starts_at >= ends) & (Event.starts_at < ends + OUTSIDE_HORIZON)
    rows = session.execute(
        scoped(select(Assignment.person_id, EventSlot, Event), Assignment, organisation_id)
        .join(EventSlot, EventSlot.id == Assignment.slot_id)
        .join(Event, Event.id == Assignment.event_id)
        .where(near, Event.status != EventStatus.CANCELLED)
        .where(Assignment.status != AssignmentStatus.DECLINED)
        .order_by(Assignment.id)
    ).all()
    return [
        Commitment(
            Slot(es.id, event.id, es.role, event.starts_at, event.ends_at, es.capacity), person_id
        )
        for person_id, es, event in rows
    ]


def _people(session: Session, organisation_id: int) -> list[SolverPerson]:
    people = session.scalars(
        scoped(select(Person), Person, organisation_id)
        .where(Person.active.is_(True))
        .options(selectinload(Person.skills))
        .order_by(Person.id)
    ).all()
    windows, leave = windows_and_time_off(session, organisation_id)
    return [
        SolverPerson(
            id=p.id,
            roles=frozenset(p.roles),
            windows=windows.get(p.id, ()),
            time_off=leave.get(p.id, ()),
            max_per_week=p.max_per_week,
            max_per_month=p.max_per_month,
            min_rest=timedelta(hours=p.min_rest_hours or 0),
            preferred_roles=frozenset(p.preferred_roles or ()),
            avoid_weekdays=frozenset(p.avoid_weekdays or ()),
        )
        for p in people
    ]


def take_snapshot(
    session: Session,
    *,
    organisation_id: int,
    timezone: str,
    starts: datetime,
    ends: datetime,
    time_limit_s: float,
    seed: int = 0,
) -> Snapshot:
    events = events_in_range(session, organisation_id, starts, ends)
    slots: dict[int, EventSlot] = {}
    solver_slots = []
    for event in events:
        for es in event.slots:
            slots[es.id] = es
            solver_slots.append(
                Slot(es.id, event.id, es.role, event.starts_at, event.ends_at, es.capacity)
            )
    assignments = session.scalars(
        scoped(select(Assignment), Assignment, organisation_id)
        .where(Assignment.event_id.in_([e.id for e in events]))
        .order_by(Assignment.id)
    ).all()
    fixed, excluded, overridden, movable = [], [], [], {}
    for a in assignments:
        placement = Placement(a.slot_id, a.person_id)
        if a.status == AssignmentStatus.DECLINED:
            event_slots = [s.id for s in slots.values() if s.event_id == a.event_id]
            excluded += [Placement(sid, a.person_id) for sid in event_slots]
        elif is_movable(a):
            movable[placement] = a
        else:
            fixed.append(placement)
            if a.overridden_rule is not None:
                overridden.append((placement, a.overridden_rule))
    problem = Problem(
        slots=tuple(solver_slots),
        people=tuple(_people(session, organisation_id)),
        fixed=tuple(fixed),
        previous=tuple(sorted(movable)),
        excluded=tuple(excluded),
        overridden=tuple(overridden),
        outside=tuple(_held_outside(session, organisation_id, starts, ends)),
        timezone=timezone,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    return Snapshot(problem, slots, movable)
