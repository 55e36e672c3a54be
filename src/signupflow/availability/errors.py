"""Problems of availability: someone is away when a place is to be taken (409s)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from signupflow.errors import DomainError

if TYPE_CHECKING:
    from signupflow.people.models import Person


class PersonAway(DomainError):
    status, type, title = 409, "/problems/person-unavailable", "This person is away then"


class OnTimeOff(PersonAway):
    def __init__(self, person: Person, day: date) -> None:
        super().__init__(
            f"{person.name} is on time off on {day.isoformat()}",
            code="person.on_time_off",
            params={"name": person.name, "day": day.isoformat()},
        )


class OutsideAvailability(PersonAway):
    def __init__(self, person: Person, day: date) -> None:
        super().__init__(
            f"{person.name} is outside their weekly availability on {day.isoformat()}",
            code="person.outside_availability",
            params={"name": person.name, "day": day.isoformat()},
        )
