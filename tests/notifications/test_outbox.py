"""The outbox through a real worker and a real SMTP server (aiosmtpd on 127.0.0.1)."""

# Chinese e-mail text uses full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from signupflow.db.session import unit_of_work
from signupflow.notifications import service
from signupflow.notifications.mailer import LogMailer
from signupflow.notifications.models import Notification, NotificationKind, NotificationStatus
from signupflow.notifications.outbox import WAITING, backoff, claim_one, lease_for
from signupflow.notifications.reminders import enqueue_due_reminders
from signupflow.ops.logging import JsonFormatter
from signupflow.ops.metrics import NOTIFICATIONS_QUEUED
from signupflow.worker.runner import Worker
from tests.factories import add_event, add_person, new_org, ok
from tests.notifications.mail import API, Mail, invite, rows
from tests.support.smtp_server import Handler


@contextmanager
def statements(mail: Mail) -> Iterator[list[str]]:
    """The SQL sent to the test database meanwhile, lower case, whitespace folded."""
    engine = mail.factory.kw["bind"]
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_invitation_is_mailed_in_the_organisations_language(
    client: TestClient, mail: Mail
) -> None:
    organisation_id, email, token = invite(client, locale="es")
    [queued] = rows(mail, organisation_id)
    assert queued.kind is NotificationKind.INVITATION
    mail.run()

    [received] = mail.server.handler.to(email)
    message = received.message
    assert message["To"].addresses[0].addr_spec == email
    assert message["Subject"].startswith("Te invitan a unirte a Org ")
    assert received.body.startswith("Hola, Ana:")
    assert f"https://app.example.org/#/accept?token={token}" in received.body
    assert re.fullmatch(r"<signupflow\.\d+\.[0-9a-f]{16}@localhost>", message["Message-ID"])
    assert abs(parsedate_to_datetime(message["Date"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert message["Content-Language"] == "es"
    assert message["List-Unsubscribe"] is None  # transactional: nothing to unsubscribe from
    [sent] = rows(mail, organisation_id)
    assert sent.status is NotificationStatus.SENT
    assert sent.sent_at is not None
    assert "token" not in sent.payload  # the secret is gone once mailed


@pytest.mark.parametrize(
    ("language", "subject", "greeting"),
    [
        ("en", "Reminder: Choir on ", "Hello Volunteer,"),
        ("fr", "Rappel : Choir le ", "Bonjour Volunteer,"),
        ("pt", "Lembrete: Choir em ", "Olá, Volunteer,"),
        ("zh-CN", "提醒：", "Volunteer，您好："),
        ("zh-TW", "提醒：", "Volunteer，您好："),
    ],
)
def test_a_shift_reminder_is_queued_once_and_mailed_in_the_persons_language(
    client: TestClient, mail: Mail, language: str, subject: str, greeting: str
) -> None:
    org = new_org(client, timezone="Europe/Madrid")
    person = add_person(org)
    ok(org.patch(f"{API}/people/{person['id']}", json={"language": language}))
    event = add_event(org, title="Choir", starts_in=timedelta(hours=3), location="Nave")
    ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person["id"], "role": "usher"},
        ),
        201,
    )

    mail.run()
    mail.run()  # the reminder task runs again: still one reminder

    # The manual assignment itself is mailed too ("assigned"); the reminder comes once.
    [received] = [
        r
        for r in mail.server.handler.to(person["email"])
        if r.message["Subject"].startswith(subject)
    ]
    assert received.body.startswith(greeting)
    starts = datetime.fromisoformat(event["starts_at"]).astimezone()
    local = starts.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Madrid"))
    assert f"{local:%Y-%m-%d} {local:%H:%M}" in received.body
    assert "Europe/Madrid" in received.body
    assert (
        received.message["List-Unsubscribe"] == "<https://app.example.org/#/profile/notifications>"
    )
    reminders = [n for n in rows(mail, org.id) if n.kind is NotificationKind.SHIFT_REMINDER]
    assert len(reminders) == 1


def test_a_shift_far_ahead_gets_no_reminder_yet(client: TestClient, mail: Mail) -> None:
    org = new_org(client)
    person = add_person(org)
    event = add_event(org, starts_in=timedelta(hours=mail.settings.reminder_hours_before + 2))
    ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person["id"], "role": "usher"},
        ),
        201,
    )
    mail.run()
    assert [n.kind for n in rows(mail, org.id)] == [NotificationKind.ASSIGNMENT_CHANGED]
    assert len(mail.server.handler.to(person["email"])) == 1  # "assigned", no reminder


def test_a_down_smtp_server_is_retried_with_backoff_and_mails_exactly_once(
    client: TestClient, mail: Mail
) -> None:
    mail.server.stop()  # nothing listens on the port now
    organisation_id, email, _ = invite(client)
    before = datetime.now(UTC)
    mail.run()
    [failed] = rows(mail, organisation_id)
    assert failed.status is NotificationStatus.PENDING
    assert failed.attempts == 1
    assert failed.last_error == "SMTP unavailable: ConnectionRefusedError"
    assert "@" not in failed.last_error
    wait = backoff(mail.settings, 1)
    assert before + wait <= failed.next_attempt_at <= datetime.now(UTC) + wait

    mail.server.start()
    mail.run()  # not due yet: nothing is sent early
    assert mail.server.handler.to(email) == []

    mail.make_due(failed.id)
    mail.server.handler.reply = "451 4.3.0 try again later"
    mail.run()
    [again] = rows(mail, organisation_id)
    assert (again.status, again.attempts, again.last_error) == (
        NotificationStatus.PENDING,
        2,
        "SMTP error 451",
    )
    assert again.next_attempt_at - datetime.now(UTC) > backoff(mail.settings, 1)

    mail.server.handler.reply = None
    mail.make_due(failed.id)
    mail.run()
    mail.make_due(failed.id)  # even when asked again, a sent message is not sent twice
    mail.run()
    assert len(mail.server.handler.to(email)) == 1
    [sent] = rows(mail, organisation_id)
    assert (sent.status, sent.attempts, sent.last_error) == (NotificationStatus.SENT, 3, None)


def test_a_permanent_refusal_is_not_retried(client: TestClient, mail: Mail) -> None:
    mail.server.handler.reply = "550 5.1.1 mailbox unavailable"
    organisation_id, _, _ = invite(client)
    mail.run()
    [failed] = rows(mail, organisation_id)
    assert (failed.status, failed.attempts, failed.last_error) == (
        NotificationStatus.FAILED,
        1,
        "SMTP error 550",
    )
    assert "token" not in failed.payload  # failed for good: the secret is gone too


def test_the_last_attempt_fails_for_good(client: TestClient, mail: Mail) -> None:
    mail.settings = mail.settings.model_copy(update={"notification_max_attempts": 2})
    mail.server.handler.reply = "421 4.3.2 shutting down"
    organisation_id, _, _ = invite(client)
    mail.run()
    [row] = rows(mail, organisation_id)
    mail.make_due(row.id)
    mail.run()
    [row] = rows(mail, organisation_id)
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 2)


def test_the_same_event_is_queued_once(client: TestClient, mail: Mail) -> None:
    org = new_org(client)
    person = add_person(org)
    with unit_of_work(mail.factory) as session:
        first = service.enqueue(
            session,
            organisation_id=org.id,
            person_id=person["id"],
            kind=NotificationKind.SHIFT_REMINDER,
            data={},
            dedupe_key="same",
        )
        second = service.enqueue(
            session,
            organisation_id=org.id,
            person_id=person["id"],
            kind=NotificationKind.SHIFT_REMINDER,
            data={},
            dedupe_key="same",
        )
    assert (first, second) == (True, False)
    assert len(rows(mail, org.id)) == 1


def test_schedule_published_and_assignment_changed_mail_the_assigned_people(
    client: TestClient, mail: Mail
) -> None:
    org = new_org(client, timezone="America/New_York")
    alice, bob = add_person(org, name="Alice"), add_person(org, name="Bob")
    ok(org.patch(f"{API}/people/{bob['id']}", json={"language": "fr"}))
    first = add_event(org, title="Early", starts_in=timedelta(days=20))
    second = add_event(org, title="Late", starts_in=timedelta(days=21))
    assignments = [
        ok(
            org.post(
                f"{API}/events/{e['id']}/assignments", json={"person_id": p["id"], "role": "usher"}
            ),
            201,
        )["id"]
        for e, p in ((first, alice), (second, alice), (second, bob))
    ]
    with unit_of_work(mail.factory) as session:
        queued = service.schedule_published(
            session, organisation_id=org.id, schedule_key="s1:v1", assignment_ids=assignments
        )
        again = service.schedule_published(
            session, organisation_id=org.id, schedule_key="s1:v1", assignment_ids=assignments
        )
        changed = service.assignment_changed(
            session,
            organisation_id=org.id,
            assignment_id=assignments[2],
            change="cancelled",
            change_key="audit-1",
        )
    assert (queued, again, changed) == (2, 0, True)
    mail.run()
    # Each manual assignment above was mailed as well ("you are scheduled for ..."); only
    # the mails queued here are checked.
    [to_alice] = [
        m for m in mail.server.handler.to(alice["email"]) if "new schedule" in m.message["Subject"]
    ]
    assert to_alice.message["Subject"] == f"Org {org.slug}: the new schedule is out"
    assert to_alice.body.index("Early") < to_alice.body.index("Late")
    assert "America/New_York" in to_alice.body
    subjects = sorted(
        m.message["Subject"]
        for m in mail.server.handler.to(bob["email"])
        if "planning" in m.message["Subject"] or "annulé" in m.message["Subject"]
    )
    assert subjects == [
        f"Org {org.slug} : le nouveau planning est publié",
        f"Org {org.slug} : votre créneau pour Late est annulé",
    ]


def test_another_organisations_assignment_cannot_be_notified(
    client: TestClient, mail: Mail
) -> None:
    mine, theirs = new_org(client), new_org(client)
    person = add_person(theirs)
    event = add_event(theirs)
    assignment = ok(
        theirs.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person["id"], "role": "usher"},
        ),
        201,
    )
    with unit_of_work(mail.factory) as session:
        assert (
            service.schedule_published(
                session,
                organisation_id=mine.id,
                schedule_key="x",
                assignment_ids=[assignment["id"]],
            )
            == 0
        )
    assert rows(mail, mine.id) == []


def test_concurrent_workers_send_each_message_once(client: TestClient, mail: Mail) -> None:
    org = new_org(client)
    people = [add_person(org) for _ in range(8)]
    with unit_of_work(mail.factory) as session:
        for person in people:
            service.enqueue(
                session,
                organisation_id=org.id,
                person_id=person["id"],
                kind=NotificationKind.INVITATION,
                data={"token": "t" * 43, "expires_at": datetime.now(UTC).isoformat()},
                dedupe_key=f"concurrent:{person['id']}",
            )
    mail.server.handler.delay_s = 0.05  # so the workers overlap
    workers = [mail.worker() for _ in range(3)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for person in people:
        assert len(mail.server.handler.to(person["email"])) == 1, person["email"]
    assert {n.status for n in rows(mail, org.id)} == {NotificationStatus.SENT}


def test_without_smtp_in_development_a_redacted_line_is_logged(
    client: TestClient, mail: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    organisation_id, email, token = invite(client)
    worker = Worker(mail.settings, mail.factory, mailer=LogMailer())
    with caplog.at_level(logging.INFO, logger="signupflow.mail"):
        worker.run_once()
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "signupflow.mail"]
    mine = [line for line in lines if "example.org" in line]
    assert mine, lines
    assert all(email not in line and token not in line for line in lines)
    assert any("***@example.org" in line for line in mine)
    assert rows(mail, organisation_id)[0].status is NotificationStatus.SENT


class RefusesSender(Handler):
    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return "553 5.7.1 sender address rejected"


def test_a_refused_sender_is_our_configuration_and_is_retried(
    client: TestClient, mail: Mail
) -> None:
    # A rotated password or a changed MAIL_FROM: fixing the configuration must let the
    # queue through, so it is never a permanent failure (though the code is 5xx).
    mail.server.stop()
    mail.server.handler = RefusesSender()
    mail.server.start()
    organisation_id, email, _ = invite(client)
    mail.run()
    [row] = rows(mail, organisation_id)
    assert (row.status, row.attempts, row.last_error) == (
        NotificationStatus.PENDING,
        1,
        "SMTP error 553",
    )
    assert "token" in row.payload

    mail.server.stop()
    mail.server.handler = Handler()
    mail.server.start()
    mail.make_due(row.id)
    mail.run()
    assert len(mail.server.handler.to(email)) == 1
    [sent] = rows(mail, organisation_id)
    assert (sent.status, sent.attempts) == (NotificationStatus.SENT, 2)


def test_a_message_whose_attempts_never_finish_fails_for_good(
    client: TestClient, mail: Mail
) -> None:
    mail.settings = mail.settings.model_copy(update={"notification_max_attempts": 1})
    organisation_id, email, _ = invite(client)
    with unit_of_work(mail.factory) as session:  # a worker claims it, then crashes
        claimed = claim_one(session, lease=lease_for(mail.settings))
    assert claimed is not None
    mail.make_due(claimed[0])  # its lease is over
    mail.run()
    assert mail.server.handler.to(email) == []
    [row] = rows(mail, organisation_id)
    assert (row.status, row.attempts, row.last_error) == (
        NotificationStatus.FAILED,
        2,
        "no outcome after 1 attempts",
    )
    assert "token" not in row.payload


def test_an_unexpected_error_is_a_failed_attempt(client: TestClient, mail: Mail) -> None:
    org = new_org(client)
    person = add_person(org)
    secret = "not-an-iso-date-s3cret"
    with unit_of_work(mail.factory) as session:
        service.enqueue(
            session,
            organisation_id=org.id,
            person_id=person["id"],
            kind=NotificationKind.SHIFT_REMINDER,
            # A number where a date belongs: rendering raises TypeError, not KeyError/ValueError.
            data={
                "event_id": 1,
                "event_title": secret,
                "location": "",
                "starts_at": 20310101,
                "ends_at": 20310101,
                "role": "usher",
            },
            dedupe_key="unexpected",
        )
    mail.run()
    [row] = rows(mail, org.id)
    assert (row.status, row.attempts, row.last_error) == (
        NotificationStatus.PENDING,
        1,
        "unexpected error: TypeError",
    )
    assert mail.server.handler.to(person["email"]) == []


def test_a_reminder_already_queued_is_not_inserted_again(client: TestClient, mail: Mail) -> None:
    org = new_org(client)
    first, second = add_person(org), add_person(org)
    event_ = add_event(org, starts_in=timedelta(hours=2))
    for person in (first, second):
        ok(
            org.post(
                f"{API}/events/{event_['id']}/assignments",
                json={"person_id": person["id"], "role": "usher"},
            ),
            201,
        )
    hours = mail.settings.reminder_hours_before
    with unit_of_work(mail.factory) as session:
        enqueue_due_reminders(session, hours_before=hours)
    later = add_event(org, starts_in=timedelta(hours=3))
    ok(
        org.post(
            f"{API}/events/{later['id']}/assignments",
            json={"person_id": first["id"], "role": "usher"},
        ),
        201,
    )
    with statements(mail) as seen, unit_of_work(mail.factory) as session:
        queued = enqueue_due_reminders(session, hours_before=hours)
    inserts = [s for s in seen if s.startswith("insert into notifications")]
    assert queued >= 1
    assert len(inserts) == queued  # only the new shift's reminder, not every due one again
    mine = [n for n in rows(mail, org.id) if n.kind is NotificationKind.SHIFT_REMINDER]
    assert len(mine) == 3


def test_the_queue_depth_is_counted_on_its_own_timer(client: TestClient, mail: Mail) -> None:
    invite(client)
    worker = mail.worker()
    with statements(mail) as seen:
        assert worker.run_once() >= 1
        worker.run_once()
        worker.run_once()  # nothing to do: the worker would sleep
    counts = [s for s in seen if "count(" in s and "from notifications" in s]
    assert len(counts) == 1  # once per 30 s, not on every poll
    with unit_of_work(mail.factory) as session:
        waiting = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status.in_(WAITING))
        )
    assert NOTIFICATIONS_QUEUED._value.get() == waiting
