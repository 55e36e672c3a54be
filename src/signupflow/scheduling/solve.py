"""Solver runs and their drafts: run, list, read, edit by hand, compare."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.db.pagination import paginate
from signupflow.errors import InvalidInput, NotFound, ResourceNotFound
from signupflow.ops import metrics
from signupflow.organisations.models import Organisation
from signupflow.people.models import Person
from signupflow.scheduling.errors import RoleNotHeld, ScheduleRuleBroken, ScheduleStateConflict
from signupflow.scheduling.models import EntrySource, Schedule, ScheduleEntry, ScheduleStatus
from signupflow.scheduling.snapshot import Snapshot, take_snapshot
from signupflow.scheduling.solver import (
    RULES,
    Figures,
    Placement,
    Result,
    figures,
    hard_violations,
    solve,
)
from signupflow.tenancy import get_scoped, scoped

MAX_RANGE = timedelta(days=366)
WITH_ENTRIES = (selectinload(Schedule.entries),)


def check_range(starts: datetime, ends: datetime) -> None:
    if starts.tzinfo is None or ends.tzinfo is None:
        raise InvalidInput("give the range as aware date-times", code="schedule.range_naive")
    if ends <= starts:
        raise InvalidInput(
            "the range must end after it starts", code="schedule.range_order", field="ends_at"
        )
    if ends - starts > MAX_RANGE:
        raise InvalidInput(
            f"a schedule covers at most {MAX_RANGE.days} days",
            code="schedule.range_too_long",
            params={"days": MAX_RANGE.days},
            field="ends_at",
        )


def _figures_report(snapshot: Snapshot, measured: Figures) -> dict[str, Any]:
    """The report's figures of a schedule's placements (seats, coverage, fairness...)."""
    slots = snapshot.slots

    def placed(p: Placement) -> dict[str, Any]:
        return {"slot_id": p.slot_id, "person_id": p.person_id}

    return {
        "seats": measured.seats,
        "filled": measured.filled,
        "coverage": round(measured.coverage, 4),
        "unfilled": [
            {**asdict(u), "event_id": slots[u.slot_id].event_id, "role": slots[u.slot_id].role}
            for u in measured.unfilled
        ],
        "violations": [asdict(v) for v in measured.violations],
        "fairness": {**asdict(measured.fairness), "spread": measured.fairness.spread},
        "changes": {
            "kept": len(measured.changes.kept),
            "added": [placed(p) for p in measured.changes.added],
            "removed": [placed(p) for p in measured.changes.removed],
        },
    }


def _report(snapshot: Snapshot, result: Result, time_limit_s: float) -> dict[str, Any]:
    return {
        "engine": result.engine,
        "engine_note": result.engine_note,
        "status": result.status,
        "time_limit_s": time_limit_s,
        **_figures_report(snapshot, result),
        "timing": asdict(result.timing),
    }


def _refigure(session: Session, schedule: Schedule, snapshot: Snapshot | None = None) -> None:
    """After a hand edit: every figure of the report from the draft's entries as they are now
    (the run's engine, status and timing stay the run's)."""
    snapshot = snapshot or snapshot_for(session, schedule)
    measured = figures(snapshot.problem, planned(schedule))
    schedule.report = {**schedule.report, **_figures_report(snapshot, measured)}


def new_run(
    *,
    actor: Actor,
    starts: datetime,
    ends: datetime,
    time_limit_s: float,
    seed: int = 0,
) -> Schedule:
    """A schedule to be solved, not yet stored, requested by the actor."""
    check_range(starts, ends)
    return Schedule(
        organisation_id=actor.organisation_id,
        starts_at=starts,
        ends_at=ends,
        status=ScheduleStatus.QUEUED,
        requested_by=actor.user_id,
        report={"request": {"time_limit_s": time_limit_s, "seed": seed}},
    )


def solve_schedule(session: Session, schedule: Schedule) -> Schedule:
    """Read the schedule's range from the database, solve it, store the draft and the run's
    report. Plain values in, so a background worker calls it as well as a request."""
    request = schedule.report["request"]
    snapshot = snapshot_for(
        session, schedule, time_limit_s=request["time_limit_s"], seed=request["seed"]
    )
    started = time.perf_counter()
    result = solve(snapshot.problem)
    metrics.SOLVER_RUNS.labels(result.engine).inc()
    metrics.SOLVER_SECONDS.labels(result.engine).observe(time.perf_counter() - started)
    entries = [
        ScheduleEntry(
            organisation_id=schedule.organisation_id,
            event_id=snapshot.slots[p.slot_id].event_id,
            slot_id=p.slot_id,
            person_id=p.person_id,
            role=snapshot.slots[p.slot_id].role,
            source=source,
        )
        for source, placements in (
            (EntrySource.KEPT, snapshot.problem.fixed),
            (EntrySource.SOLVER, result.assignments),
        )
        for p in sorted(placements)
    ]
    # The first write comes after the solve: a solve inside a request holds no write lock
    # (SQLite has one for the whole database) for the seconds it may take.
    session.add(schedule)
    schedule.status = ScheduleStatus.DRAFT
    schedule.report = {**_report(snapshot, result, request["time_limit_s"]), "request": request}
    session.flush()
    for entry in entries:
        entry.schedule_id = schedule.id
    session.add_all(entries)
    session.flush()
    set_committed_value(schedule, "entries", entries)
    # Whoever asked for the run, in a request or through the worker.
    organisation = session.get_one(Organisation, schedule.organisation_id)  # read by the snapshot
    requester = Actor.system(organisation, user_id=schedule.requested_by)
    record(
        session,
        requester,
        action="solve",
        entity="schedule",
        entity_id=schedule.id,
        changes={
            "starts_at": schedule.starts_at.isoformat(),
            "ends_at": schedule.ends_at.isoformat(),
            "filled": result.filled,
            "seats": result.seats,
            "engine": result.engine,
        },
    )
    return schedule


def get_schedule(session: Session, actor: Actor, schedule_id: int) -> Schedule:
    return get_scoped(session, Schedule, schedule_id, actor.organisation_id, options=WITH_ENTRIES)


def list_schedules(
    session: Session,
    actor: Actor,
    *,
    status: ScheduleStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[Schedule], int]:
    stmt = scoped(select(Schedule), Schedule, actor.organisation_id)
    if status is not None:
        stmt = stmt.where(Schedule.status == status)
    return paginate(session, stmt.order_by(Schedule.id.desc()), limit=limit, offset=offset)


def snapshot_for(
    session: Session, schedule: Schedule, *, time_limit_s: float = 0, seed: int = 0
) -> Snapshot:
    """The database as the solver sees it for the schedule's range."""
    organisation = session.get(Organisation, schedule.organisation_id)
    if organisation is None:  # deleted while a queued run waited
        raise ResourceNotFound(Organisation, schedule.organisation_id)
    return take_snapshot(
        session,
        organisation_id=schedule.organisation_id,
        timezone=organisation.timezone,
        starts=schedule.starts_at,
        ends=schedule.ends_at,
        time_limit_s=time_limit_s,
        seed=seed,
    )


def planned(schedule: Schedule) -> list[Placement]:
    """What publishing this schedule would place (kept entries already exist)."""
    return sorted(
        Placement(e.slot_id, e.person_id) for e in schedule.entries if e.source != EntrySource.KEPT
    )


def broken_rules(
    snapshot: Snapshot, placements: list[Placement], focus: set[Placement]
) -> list[Any]:
    return [
        v
        for v in hard_violations(snapshot.problem, placements)
        if Placement(v.slot_id, v.person_id) in focus
    ]


def _editable(session: Session, actor: Actor, schedule_id: int) -> Schedule:
    # Locked: edits of one draft take turns, and see each other's entries.
    schedule = get_scoped(
        session,
        Schedule,
        schedule_id,
        actor.organisation_id,
        options=WITH_ENTRIES,
        for_change=True,
    )
    if schedule.status != ScheduleStatus.DRAFT:
        raise ScheduleStateConflict(
            f"schedule {schedule_id} is {schedule.status}; only drafts change",
            code="schedule.not_draft",
            params={"id": schedule_id, "status": schedule.status.value},
        )
    return schedule


def add_entry(
    session: Session, actor: Actor, *, schedule_id: int, slot_id: int, person_id: int
) -> ScheduleEntry:
    """Place someone by hand; refused, naming the rule, when a hard rule would break."""
    schedule = _editable(session, actor, schedule_id)
    get_scoped(session, Person, person_id, actor.organisation_id)
    snapshot = snapshot_for(session, schedule)
    if slot_id not in snapshot.slots:
        raise NotFound(
            f"slot {slot_id} is not part of this schedule's range",
            code="schedule.slot_out_of_range",
            params={"slot_id": slot_id},
        )
    new = Placement(slot_id, person_id)
    violations = broken_rules(snapshot, [*planned(schedule), new], {new})
    if (
        any(e.slot_id == slot_id and e.person_id == person_id for e in schedule.entries)
        or new in snapshot.problem.fixed
    ):
        raise ScheduleRuleBroken(
            "this person is already in this slot",
            rule="duplicate",
            code="schedule.rule_broken",
            params={"rule": "duplicate"},
        )
    if violations:
        first = violations[0]
        detail = f"{RULES[first.rule]} ({first.detail})"
        if first.rule == "role":
            raise RoleNotHeld(detail, rule=first.rule, code="schedule.role_not_held")
        raise ScheduleRuleBroken(
            detail, rule=first.rule, code="schedule.rule_broken", params={"rule": first.rule}
        )
    slot = snapshot.slots[slot_id]
    entry = ScheduleEntry(
        organisation_id=actor.organisation_id,
        event_id=slot.event_id,
        slot_id=slot_id,
        person_id=person_id,
        role=slot.role,
        source=EntrySource.EDIT,
    )
    schedule.entries.append(entry)
    session.flush()
    _refigure(session, schedule, snapshot)
    record(
        session,
        actor,
        action="add_entry",
        entity="schedule",
        entity_id=schedule.id,
        changes={"slot_id": slot_id, "person_id": person_id},
    )
    return entry


def remove_entry(session: Session, actor: Actor, *, schedule_id: int, entry_id: int) -> None:
    schedule = _editable(session, actor, schedule_id)
    entry = next((e for e in schedule.entries if e.id == entry_id), None)
    if entry is None:
        raise ResourceNotFound(ScheduleEntry, entry_id)
    if entry.source == EntrySource.KEPT:
        raise ScheduleStateConflict(
            "this is an existing assignment (confirmed, self sign-up or manual); cancel it instead",
            code="schedule.entry_is_assignment",
        )
    schedule.entries.remove(entry)
    session.flush()
    _refigure(session, schedule)
    record(
        session,
        actor,
        action="remove_entry",
        entity="schedule",
        entity_id=schedule.id,
        changes={"slot_id": entry.slot_id, "person_id": entry.person_id},
    )


def published_for_range(
    session: Session, organisation_id: int, starts: datetime, ends: datetime
) -> list[Schedule]:
    """Published schedules whose range overlaps [starts, ends)."""
    return list(
        session.scalars(
            scoped(select(Schedule), Schedule, organisation_id)
            .where(Schedule.status == ScheduleStatus.PUBLISHED)
            .where(Schedule.starts_at < ends, Schedule.ends_at > starts)
            .options(*WITH_ENTRIES)
            .order_by(Schedule.id)
        ).all()
    )


def compare(
    session: Session, actor: Actor, schedule_id: int, against_id: int | None
) -> tuple[Schedule, Schedule | None, dict[str, list[ScheduleEntry]]]:
    """Entries added, removed and unchanged from `against` (by default the published schedule
    for an overlapping range) to this schedule."""
    schedule = get_schedule(session, actor, schedule_id)
    if against_id is not None:
        other: Schedule | None = get_schedule(session, actor, against_id)
    else:
        published = [
            s
            for s in published_for_range(
                session, actor.organisation_id, schedule.starts_at, schedule.ends_at
            )
            if s.id != schedule.id
        ]
        other = published[-1] if published else None
    mine = {(e.slot_id, e.person_id): e for e in schedule.entries}
    theirs = {(e.slot_id, e.person_id): e for e in other.entries} if other else {}
    return (
        schedule,
        other,
        {
            "added": [e for k, e in sorted(mine.items()) if k not in theirs],
            "removed": [e for k, e in sorted(theirs.items()) if k not in mine],
            "unchanged": [e for k, e in sorted(mine.items()) if k in theirs],
        },
    )
