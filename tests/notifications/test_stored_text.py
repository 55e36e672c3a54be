"""Text stored before the API refused line breaks in one-line fields (or written around it)
still makes mail, with no header of the writer's choosing; a notification that cannot be
made into a message at all is an error operators see, never a quiet loss."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import update

from signupflow.db.session import unit_of_work
from signupflow.events.models import Event
from signupflow.notifications import service
from signupflow.notifications.models import NotificationKind, NotificationStatus
from signupflow.organisations.models import Organisation
from signupflow.people.models import Person
from tests.factories import add_event, add_person, invite_member, new_org, ok, person_id_of
from tests.notifications.mail import API, Mail, rows

FORGED = "Eve\r\nBcc: everyone@example.org\u2028\tX"


def _store(mail: Mail, model: type, row_id: int, **values: str) -> None:
    """Write as an older release (or a database console) could, past the API's rules."""
    with unit_of_work(mail.factory) as session:
        session.execute(update(model).where(model.id == row_id).values(**values))


def test_an_assignment_mail_folds_line_breaks_stored_in_names_and_titles(
    client: TestClient, mail: Mail
) -> None:
    org = new_org(client)
    person = add_person(org)
    event = add_event(org, title="Choir", location="Nave", starts_in=timedelta(days=30))
    _store(mail, Person, person["id"], name=FORGED)
    _store(mail, Event, event["id"], title="Choir\r\nBcc: all@example.org", location="Nave\nX")
    _store(mail, Organisation, org.id, name="Parish\r\n")
    ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person["id"], "role": "usher"},
        ),
        201,
    )

    mail.run()

    [received] = mail.server.handler.to(person["email"])
    message = received.message
    assert message["Subject"] == "Parish: you are scheduled for Choir Bcc: all@example.org"
    assert message["To"].addresses[0].display_name == "Eve Bcc: everyone@example.org X"
    assert message["Bcc"] is None
    assert received.recipients == [person["email"]]
    assert received.body.startswith("Hello Eve Bcc: everyone@example.org X,\r\n")
    assert "Nave X" in received.body
    [sent] = rows(mail, org.id)
    assert sent.status is NotificationStatus.SENT


def test_a_line_break_stored_in_a_name_does_not_block_its_password_reset(
    client: TestClient, mail: Mail
) -> None:
    org = new_org(client)
    member = invite_member(org)
    mail.run()  # the invitation
    _store(mail, Person, person_id_of(member), name=FORGED)
    ok(client.post(f"{API}/auth/password-reset", json={"email": member.email}), 202)

    mail.run()

    [received] = [
        r
        for r in mail.server.handler.to(member.email)
        if r.message["Subject"] == "Reset your SignUpFlow password"
    ]
    assert received.body.startswith("Hello Eve Bcc: everyone@example.org X,\r\n")


def _unrenderable_count(kind: str) -> float:
    value = REGISTRY.get_sample_value("signupflow_notifications_unrenderable_total", {"kind": kind})
    return value or 0.0


def test_a_notification_that_cannot_be_rendered_is_failed_logged_and_counted(
    client: TestClient, mail: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    org = new_org(client)
    person = add_person(org)
    with unit_of_work(mail.factory) as session:
        service.enqueue(
            session,
            organisation_id=org.id,
            person_id=person["id"],
            kind=NotificationKind.SHIFT_REMINDER,
            data={"event_id": 1, "event_title": "Choir", "location": "", "role": "usher"},
            dedupe_key="no-times",
        )
    before = _unrenderable_count("shift_reminder")

    with caplog.at_level(logging.INFO, logger="signupflow.notifications"):
        mail.run()

    [row] = rows(mail, org.id)
    assert (row.status, row.attempts, row.last_error) == (
        NotificationStatus.FAILED,
        1,
        "cannot render: KeyError: 'starts_at'",
    )
    assert _unrenderable_count("shift_reminder") == before + 1
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.name == "signupflow.notifications"
    assert logged.notification_id == row.id  # type: ignore[attr-defined]
    assert "KeyError: 'starts_at'" in logged.getMessage()
    assert mail.server.handler.to(person["email"]) == []
