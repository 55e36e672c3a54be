"""Problems specific to assignments and waitlists (409s a client can act on)."""

from __future__ import annotations

from signupflow.errors import DomainError


class AssignmentNotPending(DomainError):
    status, type, title = 409, "/problems/assignment-not-pending", "Assignment is not pending"


class AssignmentNotActive(DomainError):
    status, type, title = 409, "/problems/assignment-not-active", "Assignment is not active"


class SlotHasRoom(DomainError):
    status, type, title = 409, "/problems/slot-has-room", "This role slot still has places"


class AlreadyWaitlisted(DomainError):
    status, type, title = 409, "/problems/already-waitlisted", "Already on this waitlist"


class EventClosed(DomainError):
    status, type, title = 409, "/problems/event-closed", "This event is not open for changes"


class EventStarted(DomainError):
    status, type, title = 409, "/problems/event-started", "This event has already started"
