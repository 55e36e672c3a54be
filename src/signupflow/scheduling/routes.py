from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from signupflow.deps import API_PREFIX, AppSettings, DbSession, Pagination, Scheduler, Store
from signupflow.scheduling import publish, runs, solve
from signupflow.scheduling.models import ScheduleStatus
from signupflow.scheduling.publish import PublishOutcome
from signupflow.scheduling.schemas import (
    Comparison,
    EntryCreate,
    EntryRead,
    PublishRead,
    ScheduleRead,
    ScheduleSummary,
    SolveRequest,
)
from signupflow.schemas import Id, Page
from signupflow.state.ratelimit import enforce

router = APIRouter(prefix=f"{API_PREFIX}/schedules", tags=["schedules"])


def _outcome(outcome: PublishOutcome) -> PublishRead:
    return PublishRead(
        schedule=ScheduleSummary.model_validate(outcome.schedule),
        added=len(outcome.added),
        removed=len(outcome.removed),
        promoted=len(outcome.promoted),
        changed_person_ids=outcome.changed_person_ids,
    )


@router.post(
    "/solve",
    response_model=ScheduleRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_202_ACCEPTED: {
            "model": ScheduleRead,
            "description": "Queued for the background worker: poll the schedule (Location) "
            "until its status is draft or failed",
        }
    },
)
def run_solver(
    request: Request,
    session: DbSession,
    actor: Scheduler,
    settings: AppSettings,
    store: Store,
    data: SolveRequest,
    response: Response,
) -> ScheduleRead:
    """Fill the role slots of the events starting in a range: a draft schedule and the run's
    report. Confirmed assignments, self sign-ups and manual assignments are kept; published
    solver assignments are kept where still valid. Solved within the request (201) or, where
    the server says so (SOLVER_IN_WORKER), queued for the worker (202). One solve per
    organisation at a time: 409 `schedule.solve_in_progress` (with Retry-After) while one is
    queued or running; 503 `schedule.solver_busy` (with Retry-After) when the server is
    already solving as much as it can; 429 (with Retry-After) beyond ORG_SOLVES_PER_MINUTE
    solves of one organisation."""
    enforce(store, f"solve:org:{actor.organisation_id}", per_minute=settings.org_solves_per_minute)
    run: dict[str, Any] = {
        "actor": actor,
        "starts": data.starts_at,
        "ends": data.ends_at,
        "time_limit_s": data.time_limit_s or settings.solver_time_limit_s,
        "seed": data.seed,
    }
    if settings.should_solve_in_worker:
        schedule = runs.queue(session, **run)
    else:
        state = request.app.state
        schedule = runs.solve_now(session, state.session_factory, state.solve_slots, **run)
    if schedule.status == ScheduleStatus.QUEUED:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"{router.prefix}/{schedule.id}"
    return ScheduleRead.model_validate(schedule)


@router.get("", response_model=Page[ScheduleSummary])
def list_schedules(
    session: DbSession,
    actor: Scheduler,
    page: Pagination,
    schedule_status: Annotated[ScheduleStatus | None, Query(alias="status")] = None,
) -> Page[ScheduleSummary]:
    """Schedules of your organisation, newest first."""
    items, total = solve.list_schedules(
        session,
        actor,
        status=schedule_status,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[ScheduleSummary.model_validate(s) for s in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{schedule_id}", response_model=ScheduleRead)
def get_schedule(session: DbSession, actor: Scheduler, schedule_id: Id) -> ScheduleRead:
    return ScheduleRead.model_validate(solve.get_schedule(session, actor, schedule_id))


@router.post(
    "/{schedule_id}/entries", response_model=EntryRead, status_code=status.HTTP_201_CREATED
)
def add_entry(
    session: DbSession, actor: Scheduler, schedule_id: Id, data: EntryCreate
) -> EntryRead:
    """Place someone in a draft by hand. 409 `schedule-rule-broken` (422 for a role the
    person lacks), with `rule` naming the hard rule the placement would break."""
    entry = solve.add_entry(
        session,
        actor,
        schedule_id=schedule_id,
        slot_id=data.slot_id,
        person_id=data.person_id,
    )
    return EntryRead.model_validate(entry)


@router.delete("/{schedule_id}/entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_entry(session: DbSession, actor: Scheduler, schedule_id: Id, entry_id: Id) -> None:
    """Take a placement out of a draft."""
    solve.remove_entry(
        session,
        actor,
        schedule_id=schedule_id,
        entry_id=entry_id,
    )


@router.get("/{schedule_id}/compare", response_model=Comparison)
def compare(
    session: DbSession,
    actor: Scheduler,
    schedule_id: Id,
    against: Annotated[
        Id | None, Query(description="Another schedule; default: the published one")
    ] = None,
) -> Comparison:
    """Entries added, removed and unchanged from `against` to this schedule."""
    schedule, other, diff = solve.compare(session, actor, schedule_id, against)
    return Comparison(
        schedule_id=schedule.id,
        against_id=other.id if other else None,
        **{k: [EntryRead.model_validate(e) for e in v] for k, v in diff.items()},
    )


@router.post("/{schedule_id}/publish", response_model=PublishRead)
def publish_schedule(session: DbSession, actor: Scheduler, schedule_id: Id) -> PublishRead:
    """Make a draft the published schedule: creates and removes solver assignments (pending)
    where they differ from what is published; places it frees go to the slots' waitlists.
    409 `publish-conflict`, changing nothing, when a slot filled up or a rule broke since the
    draft was made."""
    return _outcome(publish.publish(session, actor, schedule_id))


@router.post("/{schedule_id}/unpublish", response_model=PublishRead)
def unpublish_schedule(session: DbSession, actor: Scheduler, schedule_id: Id) -> PublishRead:
    """Remove the published schedule's unconfirmed solver assignments; the places they held
    go to the slots' waitlists."""
    return _outcome(publish.unpublish(session, actor, schedule_id))


@router.post("/{schedule_id}/rollback", response_model=PublishRead)
def roll_back(session: DbSession, actor: Scheduler, schedule_id: Id) -> PublishRead:
    """Publish an earlier published schedule again, replacing the current one; places it
    frees go to the slots' waitlists."""
    return _outcome(publish.roll_back_to(session, actor, schedule_id))
