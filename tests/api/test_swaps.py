"""Swap requests: offer, take, approve or reject, cancel; each bad transition is a 409 with
its own problem type, and every step is audited."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import add_event, invite_member, new_org, ok, person_id_of, problem_type

API = "/api/v1"


def _setup(client, capacity=2):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": capacity}])
    offerer = invite_member(org)
    assignment = ok(
        offerer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201
    )
    return org, event, offerer, assignment


def _offer(member, assignment, **body):
    return ok(member.post(f"{API}/assignments/{assignment['id']}/swap-offers", json=body), 201)


def test_a_colleague_takes_an_offer_and_the_assignment_moves(client):
    org, event, offerer, assignment = _setup(client)
    taker = invite_member(org)
    swap = _offer(offerer, assignment, note="family visit")
    assert swap["state"] == "open"
    takeable = ok(taker.get(f"{API}/swaps", params={"takeable": "true"}))["items"]
    assert [s["id"] for s in takeable] == [swap["id"]]
    assert ok(offerer.get(f"{API}/swaps", params={"takeable": "true"}))["items"] == []
    taken = ok(taker.post(f"{API}/swaps/{swap['id']}/take", json={}))
    assert (taken["state"], taken["taken_by_person_id"]) == ("completed", person_id_of(taker))
    moved = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert [(a["id"], a["person_id"], a["status"]) for a in moved] == [
        (assignment["id"], person_id_of(taker), "confirmed")
    ]
    filled = ok(org.get(f"{API}/events/{event['id']}"))["slots"][0]["filled"]
    assert filled == 1
    audit = ok(org.get(f"{API}/audit", params={"entity": "swap_request"}))["items"]
    assert [e["action"] for e in audit] == ["take", "offer"]
    again = taker.post(f"{API}/swaps/{swap['id']}/take", json={})
    assert problem_type(again) == "/problems/swap-not-open"
    assert problem_type(offerer.post(f"{API}/swaps/{swap['id']}/cancel")) == "/problems/swap-closed"


def test_with_required_approval_the_assignment_moves_only_when_an_admin_approves(client):
    org, event, offerer, assignment = _setup(client)
    settings = ok(org.patch(f"{API}/organisation", json={"swaps_need_approval": True}))
    assert settings["swaps_need_approval"] is True
    taker = invite_member(org)
    swap = _offer(offerer, assignment)
    waiting = ok(taker.post(f"{API}/swaps/{swap['id']}/take", json={}))
    assert waiting["state"] == "awaiting_approval"
    still = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"][0]
    assert still["person_id"] == person_id_of(offerer)
    assert (
        problem_type(taker.post(f"{API}/swaps/{swap['id']}/approve"), 403) == "/problems/forbidden"
    )
    approved = ok(org.post(f"{API}/swaps/{swap['id']}/approve"))
    assert approved["state"] == "completed"
    moved = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"][0]
    assert moved["person_id"] == person_id_of(taker)
    twice = org.post(f"{API}/swaps/{swap['id']}/approve")
    assert problem_type(twice) == "/problems/swap-not-awaiting-approval"


def test_a_rejected_swap_leaves_the_assignment_in_place(client):
    org, event, offerer, assignment = _setup(client)
    ok(org.patch(f"{API}/organisation", json={"swaps_need_approval": True}))
    taker = invite_member(org)
    swap = _offer(offerer, assignment)
    assert problem_type(org.post(f"{API}/swaps/{swap['id']}/reject")) == (
        "/problems/swap-not-awaiting-approval"
    )
    ok(taker.post(f"{API}/swaps/{swap['id']}/take", json={}))
    assert ok(org.post(f"{API}/swaps/{swap['id']}/reject"))["state"] == "rejected"
    kept = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"][0]
    assert kept["person_id"] == person_id_of(offerer)
    # Once rejected, the assignment may be offered again.
    assert _offer(offerer, assignment)["state"] == "open"


def test_a_cancelled_offer_cannot_be_taken(client):
    org, _, offerer, assignment = _setup(client)
    swap = _offer(offerer, assignment)
    assert problem_type(
        offerer.post(f"{API}/assignments/{assignment['id']}/swap-offers", json={})
    ) == ("/problems/swap-already-offered")
    other = invite_member(org)
    assert (
        problem_type(other.post(f"{API}/swaps/{swap['id']}/cancel"), 403) == "/problems/forbidden"
    )
    assert ok(offerer.post(f"{API}/swaps/{swap['id']}/cancel"))["state"] == "cancelled"
    taken = other.post(f"{API}/swaps/{swap['id']}/take", json={})
    assert problem_type(taken) == "/problems/swap-not-open"


def test_only_qualified_free_colleagues_may_take_an_offer(client):
    org, event, offerer, assignment = _setup(client, capacity=3)
    swap = _offer(offerer, assignment)
    assert (
        problem_type(offerer.post(f"{API}/swaps/{swap['id']}/take", json={}))
        == "/problems/own-swap"
    )
    greeter = invite_member(org, roles=["greeter"])
    assert problem_type(greeter.post(f"{API}/swaps/{swap['id']}/take", json={})) == (
        "/problems/not-qualified"
    )
    colleague = invite_member(org)
    ok(colleague.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)
    assert problem_type(colleague.post(f"{API}/swaps/{swap['id']}/take", json={})) == (
        "/problems/already-assigned"
    )
    busy = invite_member(org)
    overlapping = add_event(
        org,
        slots=[{"role": "usher", "capacity": 1}],
        starts_in=timedelta(days=7, hours=1),
    )
    ok(busy.post(f"{API}/events/{overlapping['id']}/signups", json={"role": "usher"}), 201)
    assert problem_type(busy.post(f"{API}/swaps/{swap['id']}/take", json={})) == (
        "/problems/schedule-clash"
    )
    assert ok(busy.get(f"{API}/swaps", params={"takeable": "true"}))["items"] == []
    assert (
        problem_type(
            busy.post(f"{API}/swaps/{swap['id']}/take", json={"person_id": person_id_of(greeter)}),
            403,
        )
        == "/problems/forbidden"
    )
    assert ok(offerer.get(f"{API}/events/{event['id']}/assignments"))["items"][0]["person_id"] == (
        person_id_of(offerer)
    )


def test_an_offer_to_a_named_colleague_is_reserved_for_them(client):
    org, _, offerer, assignment = _setup(client)
    named, other = invite_member(org), invite_member(org)
    swap = _offer(offerer, assignment, offered_to_person_id=person_id_of(named))
    assert ok(other.get(f"{API}/swaps", params={"takeable": "true"}))["items"] == []
    assert problem_type(other.post(f"{API}/swaps/{swap['id']}/take", json={})) == (
        "/problems/swap-reserved"
    )
    assert ok(named.post(f"{API}/swaps/{swap['id']}/take", json={}))["state"] == "completed"


def test_cancelling_an_offered_assignment_closes_the_offer(client):
    org, _, offerer, assignment = _setup(client)
    swap = _offer(offerer, assignment)
    assert offerer.delete(f"{API}/assignments/{assignment['id']}").status_code == 204
    closed = ok(org.get(f"{API}/swaps/{swap['id']}"))
    assert (closed["state"], closed["assignment_id"]) == ("cancelled", None)


def test_approval_is_refused_when_the_taker_got_a_place_at_the_event_meanwhile(client):
    org = new_org(client)
    event = add_event(
        org, slots=[{"role": "usher", "capacity": 1}, {"role": "greeter", "capacity": 1}]
    )
    ok(org.patch(f"{API}/organisation", json={"swaps_need_approval": True}))
    offerer = invite_member(org)
    assignment = ok(
        offerer.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201
    )
    taker = invite_member(org, roles=["usher", "greeter"])
    swap = _offer(offerer, assignment)
    ok(taker.post(f"{API}/swaps/{swap['id']}/take", json={}))
    ok(taker.post(f"{API}/events/{event['id']}/signups", json={"role": "greeter"}), 201)
    refused = org.post(f"{API}/swaps/{swap['id']}/approve")
    assert problem_type(refused) == "/problems/already-assigned"
    assignments = ok(org.get(f"{API}/events/{event['id']}/assignments"))["items"]
    assert sorted((a["role"], a["person_id"]) for a in assignments) == [
        ("greeter", person_id_of(taker)),
        ("usher", person_id_of(offerer)),
    ]
