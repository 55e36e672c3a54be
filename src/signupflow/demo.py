"""Demo and benchmark data, created through the service layer so the same code paths run.

`seed_workload` builds the standard benchmark workload (shared/notes/benchmarks.md) when
called with its defaults; the development demo is a smaller slice of it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.auth.models import User
from signupflow.auth.passwords import hash_password
from signupflow.auth.registration import NewOrganisation, create_organisation
from signupflow.availability.schemas import TimeOffCreate
from signupflow.availability.service import add_time_off
from signupflow.events.models import EventStatus
from signupflow.events.schemas import EventCreate, SlotSpec
from signupflow.events.service import create_event
from signupflow.organisations.models import Organisation
from signupflow.people.schemas import PersonCreate
from signupflow.people.service import create_person
from signupflow.settings import Settings

log = logging.getLogger(__name__)

ROLES = ("musician", "sound technician", "usher", "greeter", "teacher", "childcare")
DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example.org"
DEMO_PASSWORD = "demo-password"  # noqa: S105 -- public demo login, development profile only


@dataclass(frozen=True)
class Workload:
    organisation_id: int
    admin_email: str
    person_ids: list[int]
    event_ids: list[int]


def seed_workload(
    session: Session,
    settings: Settings,
    *,
    slug: str,
    admin_email: str,
    password: str,
    volunteers: int = 200,
    events: int = 50,
    time_off: int = 40,
    start: datetime | None = None,
    timezone: str = "America/New_York",
) -> Workload:
    """One organisation, one admin, `volunteers` people holding two roles each, `events`
    events (one every two days, two hours, four role slots each) and `time_off` 7-day leaves."""
    start = start or datetime(2030, 1, 6, 15, 0, tzinfo=UTC)
    create_organisation(
        session,
        new=NewOrganisation(
            organisation_name=f"{slug.title()} Community",
            slug=slug,
            timezone=timezone,
            locale="en",
            admin_name="Admin",
            email=admin_email,
        ),
        password_hash=hash_password(password, rounds=settings.bcrypt_rounds),
    )
    session.flush()
    organisation = session.scalars(select(Organisation).where(Organisation.slug == slug)).one()
    admin_id = session.scalars(select(User.id).where(User.email == admin_email)).one()
    admin = Actor.system(organisation, user_id=admin_id)
    person_ids = []
    for i in range(volunteers):
        roles = [ROLES[i % len(ROLES)], ROLES[(i + 1 + i // len(ROLES)) % len(ROLES)]]
        if roles[0] == roles[1]:
            roles[1] = ROLES[(i + 2) % len(ROLES)]
        person = create_person(
            session,
            admin,
            PersonCreate(
                name=f"Volunteer {i + 1:03d}",
                email=f"volunteer{i + 1:03d}@{slug}.example.org",
                roles=roles,
            ),
        )
        person_ids.append(person.id)
    event_ids = []
    for i in range(events):
        starts_at = start + timedelta(days=2 * i)
        slots = [SlotSpec(role=ROLES[(i + k) % len(ROLES)], capacity=1) for k in range(4)]
        event = create_event(
            session,
            admin,
            EventCreate(
                title=f"Service {i + 1:02d}",
                location="Main hall",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                status=EventStatus.PUBLISHED,
                slots=slots,
            ),
        )
        event_ids.append(event.id)
    first_day = start.date()
    for i in range(min(time_off, volunteers)):
        begins = first_day + timedelta(days=(i * 3) % max(2 * events, 1))
        add_time_off(
            session,
            admin,
            person_ids[i],
            TimeOffCreate(starts_on=begins, ends_on=begins + timedelta(days=6), reason="away"),
        )
    return Workload(organisation.id, admin_email, person_ids, event_ids)


def load_demo_if_empty(session: Session, settings: Settings) -> None:
    if session.scalar(select(Organisation.id).limit(1)) is not None:
        return
    today = date.today()
    start = datetime(today.year, today.month, today.day, 15, 0, tzinfo=UTC) + timedelta(days=1)
    seed_workload(
        session,
        settings,
        slug=DEMO_SLUG,
        admin_email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        volunteers=24,
        events=10,
        time_off=4,
        start=start,
    )
    log.info(
        "demo organisation loaded: log in as %s with the password %s", DEMO_EMAIL, DEMO_PASSWORD
    )
