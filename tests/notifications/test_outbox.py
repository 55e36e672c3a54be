"""The outbox through a real worker and a real SMTP server (aiosmtpd on 127.0.0.1)."""

# Chinese e-mail text uses full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signupflow.db.session import unit_of_work
from signupflow.notifications import service
from signupflow.notifications.mailer import LogMailer
from signupflow.notifications.models import Notification, NotificationKind, NotificationStatus
from signupflow.notifications.outbox import backoff
from signupflow.ops.logging import JsonFormatter
from signupflow.worker.runner import Worker
from tests.factories import add_event, add_person, new_org, ok, unique
from tests.notifications.conftest import Mail

API = "/api/v1"


def rows(mail: Mail, organisation_id: int) -> list[Notification]:
    with unit_of_work(mail.factory) as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.organisation_id.in_([organisation_id]))
                .order_by(Notification.id)
            )
        )


def invite(client: TestClient, *, locale: str = "en") -> tuple[int, str, str]:
    org = new_org(client)
    ok(org.patch(f"{API}/organisation", json={"locale": locale}))
    email = f"{unique('guest')}@example.org"
    created = ok(org.post(f"{API}/invitations", json={"email": email, "name": "Ana"}), 201)
    return org.id, email, created["token"]


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
