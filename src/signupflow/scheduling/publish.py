"""Publishing a draft turns its entries into real assignments (source solver, pending),
changing only what differs from what is published; unpublish and roll back do the same in
reverse. Places are given and taken back only through the seat ledger (assignments/ledger.py),
so a self sign-up racing a publish can never overfill a slot: one of them gets the last seat and the
other is refused, and a refused publish changes nothing (the unit of work rolls back). Places
a publish, unpublish or rollback frees go to the slots' waitlists, as after a cancellation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.assignments.errors import SlotFull
from signupflow.assignments.ledger import FreedSeats, detach_swaps, freeing_seats, place_all
from signupflow.assignments.models import Assignment, AssignmentSource, AssignmentStatus
from signupflow.audit.service import record
from signupflow.notifications import service as notifications
from signupflow.organisations.models import Organisation
from signupflow.scheduling.errors import PublishConflict, ScheduleStateConflict
from signupflow.scheduling.models import Schedule, ScheduleStatus
from signupflow.scheduling.snapshot import Snapshot
from signupflow.scheduling.solve import (
    broken_rules,
    get_schedule,
    planned,
    published_for_range,
    snapshot_for,
)
from signupflow.scheduling.solver import RULES, Placement


@dataclass(frozen=True)
class PublishOutcome:
    schedule: Schedule
    added: list[Placement]
    removed: list[Placement]
    # People the freed places went to, from the waitlists.
    promoted: list[Placement]

    @property
    def changed_person_ids(self) -> list[int]:
        """Whose assignments changed: the people to notify."""
        return sorted({p.person_id for p in [*self.added, *self.removed, *self.promoted]})


def _placements(assignments: list[Assignment]) -> list[Placement]:
    return sorted(Placement(a.slot_id, a.person_id) for a in assignments)


def _remove(
    session: Session,
    snapshot: Snapshot,
    placements: list[Placement],
    seats: FreedSeats,
    *,
    change_key: str,
) -> None:
    for placement in placements:
        assignment = snapshot.movable[placement]
        notifications.assignment_changed(
            session,
            organisation_id=assignment.organisation_id,
            assignment_id=assignment.id,
            change="cancelled",
            change_key=change_key,
        )
        detach_swaps(session, [assignment.id])
        deleted = session.execute(
            delete(Assignment).where(
                Assignment.id == assignment.id,
                Assignment.status == AssignmentStatus.PENDING,
            )
        ).rowcount  # type: ignore[attr-defined]
        if deleted == 0:
            raise PublishConflict(
                f"the assignment of person {placement.person_id} in slot {placement.slot_id} "
                "changed meanwhile; solve again",
                slot_id=placement.slot_id,
                code="schedule.assignment_changed",
                params={"person_id": placement.person_id, "slot_id": placement.slot_id},
            )
        seats.free(placement.slot_id)


def _add(
    session: Session, snapshot: Snapshot, actor: Actor, adds: list[Placement]
) -> list[Assignment]:
    """Place everyone the plan adds, through the ledger in one batch (pending, by the solver)."""
    try:
        return place_all(
            session,
            actor,
            [(snapshot.slots[p.slot_id], p.person_id) for p in adds],
            source=AssignmentSource.SOLVER,
            status=AssignmentStatus.PENDING,
        )
    except SlotFull as exc:
        slot = exc.slot
        raise PublishConflict(
            f"slot {slot.id} ('{slot.role}') filled up since the draft was made "
            "(someone signed up meanwhile); nothing was published",
            slot_id=slot.id,
            rule="capacity",
            code="schedule.slot_filled",
            params={"slot_id": slot.id, "role": slot.role},
        ) from exc
    except IntegrityError as exc:  # the person was assigned at the event meanwhile
        raise PublishConflict(
            "someone in this schedule was assigned to one of its events meanwhile; solve again",
            rule="one_role_per_event",
            code="schedule.assigned_meanwhile",
        ) from exc


def _put_live(session: Session, actor: Actor, schedule: Schedule, *, action: str) -> PublishOutcome:
    snapshot = snapshot_for(session, schedule)
    wanted = planned(schedule)
    fixed = set(snapshot.problem.fixed)
    wanted = [p for p in wanted if p not in fixed and p.slot_id in snapshot.slots]
    violations = broken_rules(snapshot, wanted, set(wanted) - set(snapshot.movable))
    if violations:
        first = violations[0]
        raise PublishConflict(
            f"{RULES[first.rule]}: person {first.person_id} in slot {first.slot_id} "
            f"({first.detail}); nothing was published",
            rule=first.rule,
            slot_id=first.slot_id,
            code="schedule.publish_rule_broken",
            params={"rule": first.rule, "person_id": first.person_id, "slot_id": first.slot_id},
        )
    current = set(snapshot.movable)
    removed = sorted(current - set(wanted))
    added = sorted(set(wanted) - current)
    # Seats are released before any is claimed, so moving a person between slots never
    # needs a seat that this same publish frees; the waitlists get what the plan leaves.
    published_at = datetime.now(UTC)
    # One key per publication: a retried request mails nobody twice.
    publication = f"{schedule.id}:{published_at.isoformat()}"
    with freeing_seats(session, actor) as seats:
        _remove(session, snapshot, removed, seats, change_key=publication)
        created = _add(session, snapshot, actor, added)
    notifications.schedule_published(
        session,
        organisation_id=schedule.organisation_id,
        schedule_key=publication,
        assignment_ids=[a.id for a in created],
    )
    for other in published_for_range(
        session, schedule.organisation_id, schedule.starts_at, schedule.ends_at
    ):
        if other.id != schedule.id:
            other.status = ScheduleStatus.SUPERSEDED
    schedule.status = ScheduleStatus.PUBLISHED
    schedule.published_at = published_at
    session.flush()
    outcome = PublishOutcome(schedule, added, removed, _placements(seats.promoted))
    record(
        session,
        actor,
        action=action,
        entity="schedule",
        entity_id=schedule.id,
        changes={
            "added": len(added),
            "removed": len(removed),
            "promoted": len(outcome.promoted),
            "people": outcome.changed_person_ids,
        },
    )
    return outcome


def _locked(session: Session, actor: Actor, schedule_id: int) -> Schedule:
    """The schedule, read after taking the organisation's row lock (a write that changes
    nothing, as the transaction's first): publishes, unpublishes and rollbacks of one
    organisation run one at a time, each seeing what the previous one did."""
    session.execute(
        update(Organisation)
        .where(Organisation.id == actor.organisation_id)
        .values(id=Organisation.id)
    )
    return get_schedule(session, actor, schedule_id)


def publish(session: Session, actor: Actor, schedule_id: int) -> PublishOutcome:
    schedule = _locked(session, actor, schedule_id)
    if schedule.status != ScheduleStatus.DRAFT:
        raise ScheduleStateConflict(
            f"schedule {schedule_id} is {schedule.status}, not a draft",
            code="schedule.not_draft",
            params={"id": schedule_id, "status": schedule.status.value},
        )
    return _put_live(session, actor, schedule, action="publish")


def roll_back_to(session: Session, actor: Actor, schedule_id: int) -> PublishOutcome:
    """Publish an earlier published schedule again, replacing the one published now."""
    schedule = _locked(session, actor, schedule_id)
    if schedule.published_at is None or schedule.status == ScheduleStatus.PUBLISHED:
        raise ScheduleStateConflict(
            f"schedule {schedule_id} is {schedule.status}; only a schedule that was published "
            "before and is not published now can be rolled back to",
            code="schedule.not_restorable",
            params={"id": schedule_id, "status": schedule.status.value},
        )
    return _put_live(session, actor, schedule, action="rollback")


def unpublish(session: Session, actor: Actor, schedule_id: int) -> PublishOutcome:
    """Remove this schedule's solver assignments that nobody has confirmed yet."""
    schedule = _locked(session, actor, schedule_id)
    if schedule.status != ScheduleStatus.PUBLISHED:
        raise ScheduleStateConflict(
            f"schedule {schedule_id} is {schedule.status}, not published",
            code="schedule.not_published",
            params={"id": schedule_id, "status": schedule.status.value},
        )
    snapshot = snapshot_for(session, schedule)
    removed = sorted(set(planned(schedule)) & set(snapshot.movable))
    with freeing_seats(session, actor) as seats:
        _remove(
            session,
            snapshot,
            removed,
            seats,
            change_key=f"{schedule.id}:unpublished:{datetime.now(UTC)}",
        )
    schedule.status = ScheduleStatus.UNPUBLISHED
    session.flush()
    outcome = PublishOutcome(schedule, [], removed, _placements(seats.promoted))
    record(
        session,
        actor,
        action="unpublish",
        entity="schedule",
        entity_id=schedule.id,
        changes={
            "removed": len(removed),
            "promoted": len(outcome.promoted),
            "people": outcome.changed_person_ids,
        },
    )
    return outcome
