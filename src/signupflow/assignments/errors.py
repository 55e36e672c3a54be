"""Problems of assignments, seats and waitlists (409s a client can act on). An error raised
from more than one place has one constructor here, so its text, code and params are built once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from signupflow.errors import DomainError

if TYPE_CHECKING:
    from signupflow.events.models import EventSlot


class SlotFull(DomainError):
    status, type, title = 409, "/problems/slot-full", "This role slot is already full"

    def __init__(self, slot: EventSlot) -> None:
        super().__init__(
            f"all {slot.capacity} places for '{slot.role}' are taken",
            code="slot.full",
            params={"role": slot.role, "capacity": slot.capacity},
        )
        self.slot = slot


class AlreadyAssigned(DomainError):
    status, type, title = 409, "/problems/already-assigned", "Already assigned to this event"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name} is already assigned to this event",
            code="person.already_assigned",
            params={"name": name},
        )


class SlotHasRoom(DomainError):
    status, type, title = 409, "/problems/slot-has-room", "This role slot still has places"

    def __init__(self, role: str) -> None:
        super().__init__(
            f"'{role}' still has open places: sign up instead",
            code="slot.has_room",
            params={"role": role},
        )


class AssignmentNotPending(DomainError):
    status, type, title = 409, "/problems/assignment-not-pending", "Assignment is not pending"


class AssignmentNotActive(DomainError):
    status, type, title = 409, "/problems/assignment-not-active", "Assignment is not active"


class AlreadyWaitlisted(DomainError):
    status, type, title = 409, "/problems/already-waitlisted", "Already on this waitlist"


class EventClosed(DomainError):
    status, type, title = 409, "/problems/event-closed", "This event is not open for changes"


class EventStarted(DomainError):
    status, type, title = 409, "/problems/event-started", "This event has already started"
