"""Sending the outbox. A worker claims one due row at a time with a single conditional UPDATE
(on PostgreSQL its sub-select skips rows other workers hold: FOR UPDATE SKIP LOCKED; SQLite
has one writer, so the statement is atomic there), commits, sends without holding a
transaction, then records the outcome. A claim is a lease: a worker that dies mid-send leaves
the row to be retried when the lease ends. The Message-ID is stable, so receivers can drop
the rare duplicate that an unknown outcome makes unavoidable."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from signupflow.db.session import unit_of_work
from signupflow.notifications.mailer import Mailer, MailError
from signupflow.notifications.models import Notification, NotificationStatus
from signupflow.notifications.render import (
    Context,
    Recipient,
    build_message,
    language_for,
    message_id,
    render,
)
from signupflow.notifications.service import SECRET_FIELDS
from signupflow.ops.metrics import (
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_QUEUED,
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_UNRENDERABLE,
)
from signupflow.organisations.models import Organisation
from signupflow.people.models import Person
from signupflow.settings import Settings

log = logging.getLogger("signupflow.notifications")
MAX_BACKOFF = timedelta(hours=6)
WAITING = (NotificationStatus.PENDING, NotificationStatus.SENDING)


def lease_for(settings: Settings) -> timedelta:
    # Longer than any send can take (connect, TLS, login, data each up to the timeout).
    return timedelta(seconds=settings.smtp_timeout_s * 6 + 30)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling per failed attempt, at most six hours."""
    seconds = settings.notification_backoff_s * 2 ** min(max(attempts - 1, 0), 20)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def claim_one(session: Session, *, lease: timedelta) -> tuple[int, int] | None:
    """Take the next due notification: (id, attempt number), or None when nothing is due."""
    now = datetime.now(UTC)
    due = (
        select(Notification.id)
        .where(Notification.status.in_(WAITING), Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    row = session.execute(
        update(Notification)
        .where(
            # `=` and not IN: PostgreSQL may run an IN sub-select more than once, claiming
            # several rows.
            Notification.id == due.scalar_subquery(),
            Notification.status.in_(WAITING),
            Notification.next_attempt_at <= now,
        )
        .values(
            status=NotificationStatus.SENDING,
            next_attempt_at=now + lease,
            attempts=Notification.attempts + 1,
        )
        .returning(Notification.id, Notification.attempts)
    ).one_or_none()
    return (row[0], row[1]) if row else None


def queue_depth(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status.in_(WAITING))
        )
        or 0
    )


def _addressing(session: Session, notification: Notification, settings: Settings) -> Any:
    payload = notification.payload
    if notification.person_id is None or notification.organisation_id is None:
        # A sign-up mail: no organisation or person exists yet; the payload says who.
        recipient = Recipient(
            name=str(payload["name"]),
            email=str(payload["to"]),
            language=language_for(str(payload["language"]), None),
        )
        return recipient, Context(str(payload["organisation"]), "UTC", settings.public_url)
    person = session.get_one(Person, notification.person_id)
    organisation = session.get_one(Organisation, notification.organisation_id)
    recipient = Recipient(
        name=person.name,
        # A password reset goes to the login's address, which the person record may not match.
        email=str(payload.get("to") or person.email),
        language=language_for(person.language, organisation.locale),
    )
    return recipient, Context(organisation.name, organisation.timezone, settings.public_url)


def _message(session: Session, notification: Notification, settings: Settings) -> Any:
    recipient, ctx = _addressing(session, notification, settings)
    rendered = render(notification.kind, notification.payload, recipient, ctx)
    return build_message(
        rendered,
        kind=notification.kind,
        recipient=recipient,
        mail_from=settings.mail_from,
        msg_id=message_id(notification.id, notification.dedupe_key, settings.mail_from),
        sent_at=datetime.now(UTC),
        public_url=settings.public_url,
    )


def deliver(
    factory: sessionmaker[Session], mailer: Mailer, settings: Settings, claimed: tuple[int, int]
) -> bool:
    """Send one claimed notification and record what happened; True when sent."""
    notification_id, attempt = claimed
    with unit_of_work(factory) as session:
        notification = session.get(Notification, notification_id)
        if notification is None:  # its person or organisation was deleted meanwhile
            return False
        kind = notification.kind
        # Secrets (tokens) are kept only while the message may still be sent.
        payload = {k: v for k, v in notification.payload.items() if k not in SECRET_FIELDS}
        error: MailError | None = None
        unrenderable: str | None = None
        if attempt > settings.notification_max_attempts:
            # Earlier attempts never finished (a crash mid-send): the lease ran out each time.
            error = MailError(f"no outcome after {attempt - 1} attempts", transient=False)
        else:
            try:
                message = _message(session, notification, settings)
            except (KeyError, ValueError) as exc:
                # A payload that cannot be rendered will never render: no retry. A defect, not
                # a delivery problem: reported as an error below, never dropped quietly. The
                # reason names a missing field or the refusing check (header, date), not the
                # secrets the payload may hold.
                unrenderable = f"{type(exc).__name__}: {exc}"[:200]
                error = MailError(f"cannot render: {unrenderable}", transient=False)
            except Exception as exc:
                # By type only: the text could carry the payload. Counts as a failed attempt.
                session.rollback()
                error = MailError(f"unexpected error: {type(exc).__name__}")
    if error is None:
        try:
            mailer.send(message)
        except MailError as exc:
            error = exc
        except Exception as exc:
            error = MailError(f"unexpected error: {type(exc).__name__}")
    now = datetime.now(UTC)
    mine = (
        Notification.id == notification_id,
        Notification.status == NotificationStatus.SENDING,
        Notification.attempts == attempt,
    )
    with unit_of_work(factory) as session:
        if error is None:
            session.execute(
                update(Notification)
                .where(*mine)
                .values(
                    status=NotificationStatus.SENT, sent_at=now, last_error=None, payload=payload
                )
            )
            NOTIFICATIONS_SENT.labels(kind.value).inc()
            log.info(
                "notification sent",
                extra={"notification_id": notification_id, "kind": kind.value, "attempt": attempt},
            )
            return True
        final = not error.transient or attempt >= settings.notification_max_attempts
        values: dict[str, Any] = {"last_error": str(error)[:500]}
        if final:
            values["status"] = NotificationStatus.FAILED
            values["payload"] = payload
        else:
            values["status"] = NotificationStatus.PENDING
            values["next_attempt_at"] = now + backoff(settings, attempt)
        session.execute(update(Notification).where(*mine).values(**values))
    NOTIFICATIONS_FAILED.labels(kind.value, str(final).lower()).inc()
    context = {
        "notification_id": notification_id,
        "kind": kind.value,
        "attempt": attempt,
        "final": final,
    }
    if unrenderable is not None:
        NOTIFICATIONS_UNRENDERABLE.labels(kind.value).inc()
        log.error(
            "notification %s cannot be rendered, marked failed: %s",
            notification_id,
            unrenderable,
            extra=context,
        )
    else:
        log.warning("notification not sent: %s", error, extra=context)
    return False


def update_queue_gauge(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        depth = queue_depth(session)
    NOTIFICATIONS_QUEUED.set(depth)
    return depth
