"""Secret calendar feeds (a person's shifts, or an organisation's published events) and
single-event downloads. A feed's token is derived from a stored salt with the secret key, so
its owner can see it again; only its hash and the salt are stored; rotating or revoking makes
the old URL answer 404."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from signupflow.assignments.models import Assignment, AssignmentStatus
from signupflow.audit.models import AuditEntry
from signupflow.auth.tokens import derived_token, digest
from signupflow.calendar.ics import Entry, build_calendar, uid_domain
from signupflow.calendar.models import CalendarFeed
from signupflow.db.id_lists import among_ids
from signupflow.errors import NotFound
from signupflow.events.models import PUBLIC_STATUSES, Event
from signupflow.organisations.models import Organisation
from signupflow.organisations.service import lock_organisation
from signupflow.people.models import Person
from signupflow.settings import Settings
from signupflow.tenancy import get_scoped, scoped

FEED_HISTORY = timedelta(days=180)  # past events a subscriber still sees
FEED_LIMIT = 2000


def rotate_feed(session: Session, *, organisation_id: int, person_id: int | None, key: str) -> str:
    """A new token for the feed, derived from a new salt with `key` (the current secret key);
    the previous one stops working. Returns the token."""
    lock_organisation(session, organisation_id)  # one live token per feed
    revoke_feed(session, organisation_id=organisation_id, person_id=person_id)
    salt = secrets.token_hex(32)
    token = derived_token(key, salt)
    session.add(
        CalendarFeed(
            organisation_id=organisation_id,
            person_id=person_id,
            token_hash=digest(token),
            token_salt=salt,
        )
    )
    session.flush()
    return token


def current_token(
    session: Session, *, organisation_id: int, person_id: int | None, keys: list[str]
) -> str:
    """The live feed's token, made again from its salt by whichever of `keys` (the current
    secret key, then the previous ones) made it. NotFound when there is no live feed, or when
    it cannot be made again (made before 0009, or with a key no longer kept): replace it."""
    feed = session.scalars(
        scoped(
            select(CalendarFeed).where(_owned_by(person_id), CalendarFeed.revoked_at.is_(None)),
            CalendarFeed,
            organisation_id,
        )
    ).one_or_none()
    if feed is None:
        raise NotFound("there is no calendar link yet", code="calendar.no_feed")
    if feed.token_salt is not None:
        for key in keys:
            token = derived_token(key, feed.token_salt)
            if hmac.compare_digest(digest(token), feed.token_hash):
                return token
    raise NotFound(
        "this calendar link cannot be shown again: replace it", code="calendar.feed_hidden"
    )


def _owned_by(person_id: int | None) -> ColumnElement[bool]:
    return (
        CalendarFeed.person_id.is_(None)
        if person_id is None
        else CalendarFeed.person_id == person_id
    )


def revoke_feed(session: Session, *, organisation_id: int, person_id: int | None) -> None:
    ids = scoped(
        select(CalendarFeed.id).where(_owned_by(person_id), CalendarFeed.revoked_at.is_(None)),
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
                among_ids(AuditEntry.entity_id, "event_ids"),
            )
            .group_by(AuditEntry.entity_id),
            AuditEntry,
            organisation_id,
        ),
        {"event_ids": [e.id for e in events]},
    ).all()
    # max() keeps the column's UTCDateTime type: aware datetimes on SQLite and PostgreSQL.
    return {entity_id: (count, last) for entity_id, count, last in rows if entity_id is not None}


# An event in a feed: the role a person fills there, and whether they have yet to answer.
Listed = tuple[Event, str | None, bool]


def _entries(session: Session, organisation_id: int, listed: list[Listed]) -> list[Entry]:
    revisions = _revisions(session, organisation_id, [event for event, _, _ in listed])
    entries = []
    for event, role, pending in listed:
        sequence, revised = revisions.get(event.id, (0, event.created_at))
        entries.append(Entry(event, sequence, max(revised, event.created_at), role, pending))
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
    listed: list[Listed]
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
        listed = [(event, None, False) for event in reversed(events)]
        name = organisation.name
    else:
        person = get_scoped(session, Person, feed.person_id, organisation.id)
        rows = session.execute(
            scoped(
                select(Event, Assignment.role, Assignment.status)
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
        listed = [
            (event, role, status == AssignmentStatus.PENDING)
            for event, role, status in reversed(rows)
        ]
        name = f"{organisation.name}: {person.name}"
    entries = _entries(session, organisation.id, listed)
    return build_calendar(
        name, organisation.timezone, entries, domain=uid_domain(settings.public_url)
    )


def event_document(
    session: Session, *, organisation: Organisation, event: Event, settings: Settings
) -> bytes:
    entries = _entries(session, organisation.id, [(event, None, False)])
    return build_calendar(
        organisation.name, organisation.timezone, entries, domain=uid_domain(settings.public_url)
    )
