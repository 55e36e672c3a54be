"""Assigned people confirm or decline; a decline frees the place for the waitlist."""

from __future__ import annotations

from tests.factories import (
    add_event,
    invite_member,
    new_org,
    ok,
    person_id_of,
    problem_type,
    slot_of,
)

API = "/api/v1"


def _assigned(org, member, event, role="usher"):
    return ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person_id_of(member), "role": role},
        ),
        201,
    )


def test_a_volunteer_confirms_a_pending_assignment_once(client):
    org = new_org(client)
    event = add_event(org)
    volunteer = invite_member(org)
    assignment = _assigned(org, volunteer, event)
    assert assignment["status"] == "pending"
    confirmed = ok(volunteer.post(f"{API}/assignments/{assignment['id']}/accept"))
    assert confirmed["status"] == "confirmed"
    again = volunteer.post(f"{API}/assignments/{assignment['id']}/accept")
    assert problem_type(again) == "/problems/assignment-not-pending"
    declined = volunteer.post(f"{API}/assignments/{assignment['id']}/decline")
    assert problem_type(declined) == "/problems/assignment-not-pending"
    assert slot_of(org, event["id"])["filled"] == 1


def test_a_decline_keeps_the_row_and_frees_the_place(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    volunteer = invite_member(org)
    assignment = _assigned(org, volunteer, event)
    assert slot_of(org, event["id"])["filled"] == 1
    declined = ok(volunteer.post(f"{API}/assignments/{assignment['id']}/decline"))
    assert declined["status"] == "declined"
    assert slot_of(org, event["id"])["filled"] == 0
    listed = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert [(a["id"], a["status"]) for a in listed] == [(assignment["id"], "declined")]
    audit = ok(org.get(f"{API}/audit", params={"entity": "assignment"}))["items"]
    assert "decline" in [entry["action"] for entry in audit]


def test_a_declined_person_may_sign_up_again_and_reuses_their_row(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    volunteer = invite_member(org)
    assignment = _assigned(org, volunteer, event)
    ok(volunteer.post(f"{API}/assignments/{assignment['id']}/decline"))
    again = ok(volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    assert (again["id"], again["status"], again["source"]) == (
        assignment["id"],
        "confirmed",
        "self_signup",
    )
    assert slot_of(org, event["id"])["filled"] == 1
    twice = volunteer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"})
    assert problem_type(twice) in ("/problems/already-assigned", "/problems/slot-full")


def test_cancelling_a_declined_assignment_releases_no_place(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    first, second = invite_member(org), invite_member(org)
    declined = _assigned(org, first, event)
    _assigned(org, second, event)
    ok(first.post(f"{API}/assignments/{declined['id']}/decline"))
    assert slot_of(org, event["id"])["filled"] == 1
    assert org.delete(f"{API}/assignments/{declined['id']}").status_code == 204
    assert slot_of(org, event["id"])["filled"] == 1


def test_only_the_assigned_person_or_a_scheduler_responds(client):
    org = new_org(client)
    event = add_event(org)
    volunteer, colleague = invite_member(org), invite_member(org)
    assignment = _assigned(org, volunteer, event)
    refused = colleague.post(f"{API}/assignments/{assignment['id']}/decline")
    assert problem_type(refused, 403) == "/problems/forbidden"
    on_behalf = ok(org.post(f"{API}/assignments/{assignment['id']}/decline"))
    assert on_behalf["status"] == "declined"


def test_a_decline_promotes_the_first_person_on_the_waitlist(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    assigned, first, second = (invite_member(org) for _ in range(3))
    assignment = _assigned(org, assigned, event)
    for member in (first, second):
        ok(member.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"}), 201)
    ok(assigned.post(f"{API}/assignments/{assignment['id']}/decline"))
    listed = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    active = [
        (a["person_id"], a["status"], a["source"]) for a in listed if a["status"] != "declined"
    ]
    assert active == [(person_id_of(first), "confirmed", "self_signup")]
    assert slot_of(org, event["id"])["filled"] == 1
    line = ok(org.get(f"{API}/events/{event['id']}/waitlist"))["items"]
    assert [(e["person_id"], e["position"]) for e in line] == [(person_id_of(second), 1)]
