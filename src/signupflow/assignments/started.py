"""The past is not editable by volunteers. Once an event has started (it is in progress or
over) its assignments, waitlist places and swap offers are the record of who served; a
volunteer who withdrew or declined then would rewrite it (the audit log would keep the change,
the event would lose the person). Schedulers and admins may still correct the record; their
changes are audited like any other.

Every volunteer-facing write to what belongs to an event calls one of these two before it
changes anything, so the rule and its error live here only:
- `refuse_volunteer_after_start`: withdrawing (DELETE) an assignment, accepting or declining
  it, leaving a waitlist, withdrawing a swap offer. Schedulers and admins pass.
- `refuse_after_start`: signing up, joining a waitlist, offering or taking a swap. These look
  ahead, so they are refused for everyone; an organiser corrects the past by assigning
  (`POST /events/{id}/assignments`) or cancelling instead."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.assignments.errors import EventStarted
from signupflow.events.models import Event
from signupflow.people.models import MemberRole
from signupflow.tenancy import scoped


def has_started(starts_at: datetime) -> bool:
    return starts_at <= datetime.now(UTC)


def refuse_after_start(event: Event) -> None:
    if has_started(event.starts_at):
        raise EventStarted(
            f"event {event.id} started at {event.starts_at.isoformat()}; "
            "only an organiser can change it now",
            code="event.started",
            params={"event_id": event.id, "starts_at": event.starts_at.isoformat()},
        )


def refuse_volunteer_after_start(session: Session, actor: Actor, event_id: int) -> None:
    """Refuse a volunteer's change to something of the event once it has started."""
    if actor.at_least(MemberRole.SCHEDULER):
        return
    event = session.scalars(
        scoped(select(Event), Event, actor.organisation_id).where(Event.id == event_id)
    ).one()
    refuse_after_start(event)
