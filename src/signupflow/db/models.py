"""Imports every table so Alembic and tests see the whole schema."""

from signupflow.assignments.models import Assignment, WaitlistEntry
from signupflow.audit.models import AuditEntry
from signupflow.auth.models import PendingSignUp, RefreshToken, User
from signupflow.availability.models import AvailabilityWindow, TimeOff
from signupflow.calendar.models import CalendarFeed
from signupflow.db.base import Base
from signupflow.events.models import Event, EventSeries, EventSlot
from signupflow.invitations.models import Invitation
from signupflow.notifications.models import Notification
from signupflow.organisations.models import Organisation, OrganisationDataVersion
from signupflow.password_reset.models import PasswordReset
from signupflow.people.models import Membership, Person, PersonSkill
from signupflow.scheduling.models import Schedule, ScheduleEntry
from signupflow.swaps.models import SwapRequest
from signupflow.teams.models import Team, team_members

__all__ = [
    "Assignment",
    "AuditEntry",
    "AvailabilityWindow",
    "Base",
    "CalendarFeed",
    "Event",
    "EventSeries",
    "EventSlot",
    "Invitation",
    "Membership",
    "Notification",
    "Organisation",
    "OrganisationDataVersion",
    "PasswordReset",
    "PendingSignUp",
    "Person",
    "PersonSkill",
    "RefreshToken",
    "Schedule",
    "ScheduleEntry",
    "SwapRequest",
    "Team",
    "TimeOff",
    "User",
    "WaitlistEntry",
    "team_members",
]
