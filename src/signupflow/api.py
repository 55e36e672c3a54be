"""The versioned REST API: every domain router, each already under /api/v1 (a full prefix on
each router keeps the route template, as logs and metrics see it, complete)."""

from fastapi import APIRouter

from signupflow.assignments.routes import router as assignments
from signupflow.audit.routes import router as audit
from signupflow.auth.routes import router as auth
from signupflow.availability.routes import router as availability
from signupflow.calendar.routes import router as calendar
from signupflow.events.routes import router as events
from signupflow.events.routes import series_router as event_series
from signupflow.invitations.routes import router as invitations
from signupflow.organisations.routes import router as organisations
from signupflow.password_reset.routes import router as password_reset
from signupflow.people.routes import router as people
from signupflow.scheduling.routes import router as schedules
from signupflow.swaps.routes import router as swaps
from signupflow.teams.routes import router as teams

ROUTERS: tuple[APIRouter, ...] = (
    auth,
    organisations,
    people,
    teams,
    events,
    event_series,
    availability,
    assignments,
    schedules,
    invitations,
    swaps,
    audit,
    password_reset,
    calendar,
)
