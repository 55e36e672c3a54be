"""Secret calendar feeds (a person's shifts, or an organisation's published events) and
single-event downloads. A feed token is shown once; only its hash is stored; rotating or
revoking makes the old URL answer 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from signupflow.assignments.models import Assignment, AssignmentStatus
from signupflow.audit.models import AuditEntry
from signupflow.auth.tokens import digest, new_opaque_token
from signupflow.calendar.ics import Entry, build_calendar, uid_domain
from signupflow.calendar.models import CalendarFeed
from signupflow.errors import NotFound
from signupflow.events.models import PUBLIC_STATUSES, Event
from signupflow.organisations.models import Organisation
from signupflow.organisations.service import lock_organisation
from signupflow.people.models import Person
from signupflow.settings import Settings
from signupflow.tenancy import get_scoped, scoped

FEED_HISTORY = timedelta(days=180)  # past events a subscriber still sees
FEED_LIMIT = 2000


def rotate_feed(session: Session, *, organisation_id: int, person_id: int | None) -> str:
    """A new token for the feed; the previous one stops working. Returns the token."""
    lock_organisation(session, organisation_id)  # one live token per feed
    revoke_feed(session, organisation_id=organisation_id, person_id=person_id)
    token = new_opaque_token()
    session.add(
        CalendarFeed(organisation_id=organisation_id, person_id=person_id, token_hash=digest(token))
    )
    session.flush()
    return token


def revoke_feed(session: Session, *, organisation_id: int, person_id: int | None) -> None:
    owner = (
        CalendarFeed.person_id.is_(None)
        if person_id is None
        else CalendarFeed.person_id == person_id
    )
    ids = scoped(
        select(CalendarFeed.id).where(owner, CalendarFeed.revoked_at.is_(None)),
        CalendarFeed,
        organisation_id,
    )
    session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.id.in_(ids.scalar_subquery()))
        .values(revoked_at=datetime.now(UTC))
    )


def _revisions(
    session: Session, organisation_id: int, events: list[Event]
) -> dict[int, tuple[int, datetime]]:
    """Per event: how many times it was edited, and when last (from the audit log)."""
    if not events:
        return {}
    rows = session.execute(
        scoped(
            select(AuditEntry.entity_id, func.count(), func.max(AuditEntry.created_at))
            .where(
                AuditEntry.entity == "event",
                AuditEntry.action == "update",
                AuditEntry.entity_id.in_([e.id for e in events]),
            )
            .group_by(AuditEntry.entity_id),
            AuditEntry,
            organisation_id,
        )
    ).all()
    # max() keeps the column's UTCDateTime type: aware datetimes on SQLite and PostgreSQL.
    return {entity_id: (count, last) for entity_id, count, last in rows if entity_id is not None}


def _entries(
    session: Session, organisation_id: int, pairs: list[tuple[Event, str | None]]
) -> list[Entry]:
    revisions = _revisions(session, organisation_id, [event for event, _ in pairs])
    entries = []
    for event, role in pairs:
        sequence, revised = revisions.get(event.id, (0, event.created_at))
        entries.append(Entry(event, sequence, max(revised, event.created_at), role))
    return entries


def feed_document(session: Session, *, token: str, settings: Settings) -> bytes:
    feed = session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.token_hash == digest(token), CalendarFeed.revoked_at.is_(None)
        )
    ).one_or_none()
    if feed is None:
        raise NotFound("no such calendar feed", code="calendar.unknown_feed")
    organisation = session.get_one(Organisation, feed.organisation_id)
    since = datetime.now(UTC) - FEED_HISTORY
    pairs: list[tuple[Event, str | None]]
    if feed.person_id is None:
        events = session.scalars(
            scoped(
                select(Event).where(Event.status.in_(PUBLIC_STATUSES), Event.ends_at >= since),
                Event,
                organisation.id,
            )
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(FEED_LIMIT)
        ).all()
        # The newest FEED_LIMIT, so a busy organisation's feed keeps what is coming up.
        pairs = [(event, None) for event in reversed(events)]
        name = organisation.name
    else:
        person = get_scoped(session, Person, feed.person_id, organisation.id)
        rows = session.execute(
            scoped(
                select(Event, Assignment.role)
                .join(Assignment, Assignment.event_id == Event.id)
                .where(
                    Assignment.person_id == person.id,
                    Assignment.status != AssignmentStatus.DECLINED,
                    Event.status.in_(PUBLIC_STATUSES),
                    Event.ends_at >= since,
                ),
                Event,
                organisation.id,
            )
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(FEED_LIMIT)
        ).all()
        pairs = [(event, role) for event, role in reversed(rows)]
        name = f"{organisation.name}: {person.name}"
    entries = _entries(session, organisation.id, pairs)
    return build_calendar(
        name, organisation.timezone, entries, domain=uid_domain(settings.public_url)
    )


def event_document(
    session: Session, *, organisation: Organisation, event: Event, settings: Settings
) -> bytes:
    entries = _entries(session, organisation.id, [(event, None)])
    return build_calendar(
        organisation.name, organisation.timezone, entries, domain=uid_domain(settings.public_url)
    )
