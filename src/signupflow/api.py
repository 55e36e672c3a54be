"""The versioned REST API: every domain router under /api/v1."""

from fastapi import APIRouter

from signupflow.assignments.routes import router as assignments
from signupflow.audit.routes import router as audit
from signupflow.auth.routes import router as auth
from signupflow.availability.routes import router as availability
from signupflow.events.routes import router as events
from signupflow.invitations.routes import router as invitations
from signupflow.organisations.routes import router as organisations
from signupflow.people.routes import router as people
from signupflow.teams.routes import router as teams

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
for router in (
    auth,
    organisations,
    people,
    teams,
    events,
    availability,
    assignments,
    invitations,
    audit,
):
    api_router.include_router(router)
