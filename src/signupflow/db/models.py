"""Imports every table so Alembic and tests see the whole schema."""

from signupflow.assignments.models import Assignment
from signupflow.audit.models import AuditEntry
from signupflow.auth.models import RefreshToken, User
from signupflow.availability.models import AvailabilityWindow, TimeOff
from signupflow.db.base import Base
from signupflow.events.models import Event, EventSlot
from signupflow.invitations.models import Invitation
from signupflow.organisations.models import Organisation
from signupflow.people.models import Membership, Person, PersonSkill
from signupflow.scheduling.models import Schedule, ScheduleEntry
from signupflow.teams.models import Team, team_members

__all__ = [
    "Assignment",
    "AuditEntry",
    "AvailabilityWindow",
    "Base",
    "Event",
    "EventSlot",
    "Invitation",
    "Membership",
    "Organisation",
    "Person",
    "PersonSkill",
    "RefreshToken",
    "Schedule",
    "ScheduleEntry",
    "Team",
    "TimeOff",
    "User",
    "team_members",
]
