"""What the scheduling flows mail, end to end: the API change queues it in the same
transaction, and a real worker delivers it to a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from signupflow.notifications.models import NotificationKind
from tests.factories import add_event, add_person, new_org, ok
from tests.notifications.mail import Mail, rows

API = "/api/v1"


def test_publishing_mails_each_newly_assigned_person_once(client: TestClient, mail: Mail) -> None:
    org = new_org(client)
    people = [add_person(org, roles=["usher"], name=f"Usher {i}") for i in range(2)]
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=timedelta(days=3))
    body = {"starts_at": event["starts_at"], "ends_at": event["ends_at"]}
    draft = ok(org.post(f"{API}/schedules/solve", json=body), 201)
    assert rows(mail, org.id) == []  # a draft tells nobody anything
    ok(org.post(f"{API}/schedules/{draft['id']}/publish"))
    queued = rows(mail, org.id)
    assert sorted(n.person_id for n in queued) == sorted(p["id"] for p in people)
    assert {n.kind for n in queued} == {NotificationKind.SCHEDULE_PUBLISHED}
    mail.run()
    for person in people:
        [message] = mail.server.handler.to(person["email"])
        assert event["title"] in message.body


def test_unpublishing_and_manual_changes_mail_the_person_concerned(
    client: TestClient, mail: Mail
) -> None:
    org = new_org(client)
    person = add_person(org, roles=["usher"])
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}], starts_in=timedelta(days=4))
    assignment = ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person["id"], "role": "usher"},
        ),
        201,
    )
    ok(org.delete(f"{API}/assignments/{assignment['id']}"), 204)
    queued = rows(mail, org.id)
    assert [(n.kind, n.person_id, n.payload["change"]) for n in queued] == [
        (NotificationKind.ASSIGNMENT_CHANGED, person["id"], "assigned"),
        (NotificationKind.ASSIGNMENT_CHANGED, person["id"], "cancelled"),
    ]
    mail.run()
    assert len(mail.server.handler.to(person["email"])) == 2
