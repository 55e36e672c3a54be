"""Capacity is enforced atomically: concurrent sign-ups never overbook a slot."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.factories import add_event, invite_member, new_org, ok

SIGNUPS = 50
CAPACITY = 3


def test_fifty_concurrent_signups_for_a_slot_of_three_yield_exactly_three(client, live_url):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": CAPACITY}])
    volunteers = [invite_member(org, roles=["usher"]) for _ in range(SIGNUPS)]
    start = threading.Barrier(SIGNUPS)

    def sign_up(headers: dict[str, str]) -> int:
        with httpx.Client(base_url=live_url, timeout=60) as http:
            start.wait()
            response = http.post(
                f"/api/v1/events/{event['id']}/signups", json={"role": "usher"}, headers=headers
            )
            if response.status_code != 201:
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["type"] == "/problems/slot-full"
            return response.status_code

    with ThreadPoolExecutor(max_workers=SIGNUPS) as pool:
        statuses = list(pool.map(sign_up, [v.headers for v in volunteers]))

    assert statuses.count(201) == CAPACITY
    assert statuses.count(409) == SIGNUPS - CAPACITY
    listed = ok(org.get(f"/api/v1/events/{event['id']}/assignments"))
    assert listed["total"] == CAPACITY
    slot = ok(org.get(f"/api/v1/events/{event['id']}"))["slots"][0]
    assert (slot["filled"], slot["open"]) == (CAPACITY, 0)


def test_concurrent_cancellations_release_each_place_once(client, live_url):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    first, second = (invite_member(org, roles=["usher"]) for _ in range(2))
    created = [
        ok(v.post(f"/api/v1/events/{event['id']}/signups", json={"role": "usher"}), 201)
        for v in (first, second)
    ]
    start = threading.Barrier(8)

    def cancel(_: int) -> int:
        with httpx.Client(base_url=live_url, timeout=60) as http:
            start.wait()
            return http.delete(
                f"/api/v1/assignments/{created[0]['id']}", headers=org.headers
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(cancel, range(8)))

    assert statuses.count(204) == 1
    assert statuses.count(404) == 7
    slot = ok(org.get(f"/api/v1/events/{event['id']}"))["slots"][0]
    assert slot["filled"] == 1
