"""One visibility rule per resource: a detail route shows a caller exactly the rows its listing
shows them, no more and no fewer.

The list/detail pairs are read from the OpenAPI document (`GET /things` next to
`GET /things/{thing_id}`), so a new pair fails here until `PAIRS` names it. For each pair and
each kind of caller, every id the organisation holds is asked for one by one: the detail
answers 200 exactly for the ids the listing gives that caller, and 404 (or, for a route the
caller's role may not use, the listing's own 403) for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import Org, add_event, invite_member, new_org, ok, person_id_of

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"

# Every list route with a detail route, and the detail's path parameter.
PAIRS = {
    f"{API}/events": "event_id",
    f"{API}/people": "person_id",
    f"{API}/schedules": "schedule_id",
    f"{API}/swaps": "swap_id",
    f"{API}/teams": "team_id",
}
PRINCIPALS = ("admin", "scheduler", "volunteer", "taker")


def list_detail_pairs(doc: dict[str, Any]) -> dict[str, str]:
    gets = {path: ops["get"] for path, ops in doc["paths"].items() if "get" in ops}
    pairs = {}
    for path, operation in gets.items():
        params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        if len(params) != 1 or not path.endswith(f"/{{{params[0]}}}"):
            continue
        listing = path.removesuffix(f"/{{{params[0]}}}")
        if listing in gets and listing.startswith(API):
            pairs[listing] = params[0]
    return pairs


@dataclass
class World:
    """One organisation: an admin, a scheduler, a volunteer and a colleague who takes offers,
    with offers in every state (the volunteer's, a colleague's, reserved for someone, of an
    event back in draft), events in every status, a team and a draft schedule."""

    principals: dict[str, Org]
    swaps: dict[str, int]
    events: dict[str, int]


def _listed(org: Org, path: str) -> tuple[int, set[int]]:
    ids: set[int] = set()
    while True:
        response = org.get(path, params={"limit": 500, "offset": len(ids)})
        if response.status_code != 200:
            return response.status_code, ids
        body = response.json()
        ids |= {item["id"] for item in body["items"]}
        if not body["items"] or len(ids) >= body["total"]:
            return 200, ids


@pytest.fixture(scope="module")
def world(client: TestClient) -> World:
    org = new_org(client)
    scheduler = invite_member(org, role="scheduler")
    volunteer, colleague, taker = invite_member(org), invite_member(org), invite_member(org)
    days = iter(range(3, 60))

    def event(status: str = "published") -> Any:
        # A day each: a taker is never busy at another shift at that time.
        return add_event(
            org,
            slots=[{"role": "usher", "capacity": 3}],
            status=status,
            starts_in=timedelta(days=next(days)),
        )

    def offer(member: Org, **body: Any) -> Any:
        shift = event()
        signed = ok(member.post(f"{API}/events/{shift['id']}/signups", json={"role": "usher"}), 201)
        return ok(member.post(f"{API}/assignments/{signed['id']}/swap-offers", json=body), 201)

    def cancelled(member: Org, **body: Any) -> Any:
        swap = offer(member, **body)
        return ok(member.post(f"{API}/swaps/{swap['id']}/cancel"))

    def taken(member: Org, by: Org) -> Any:
        swap = offer(member)
        return ok(by.post(f"{API}/swaps/{swap['id']}/take", json={}))

    swaps = {
        "volunteer_open": offer(volunteer),
        "volunteer_cancelled": cancelled(volunteer),
        "colleague_open": offer(colleague),
        "colleague_cancelled": cancelled(colleague, note="private: hospital appointment"),
        "colleague_completed": taken(colleague, by=taker),
        "taken_by_volunteer": taken(colleague, by=volunteer),
        "reserved_for_taker": offer(colleague, offered_to_person_id=person_id_of(taker)),
        "reserved_for_volunteer": offer(colleague, offered_to_person_id=person_id_of(volunteer)),
    }
    back_in_draft = offer(colleague)
    ok(org.patch(f"{API}/events/{back_in_draft['event_id']}", json={"status": "draft"}))
    swaps["open_of_draft_event"] = back_in_draft
    ok(org.patch(f"{API}/organisation", json={"swaps_need_approval": True}))
    swaps["awaiting_approval"] = taken(colleague, by=taker)
    rejected = taken(colleague, by=taker)
    swaps["rejected"] = ok(org.post(f"{API}/swaps/{rejected['id']}/reject"))
    ok(org.patch(f"{API}/organisation", json={"swaps_need_approval": False}))

    events = {
        "published": event()["id"],
        "draft": event("draft")["id"],
        "cancelled": event("cancelled")["id"],
        "over": add_event(org, starts_in=timedelta(days=-3))["id"],
    }
    ok(org.post(f"{API}/teams", json={"name": "Welcome", "member_ids": []}), 201)
    solved = add_event(org, starts_in=timedelta(days=next(days)))
    ok(
        org.post(
            f"{API}/schedules/solve",
            json={"starts_at": solved["starts_at"], "ends_at": solved["ends_at"]},
        ),
        201,
    )
    principals = {"admin": org, "scheduler": scheduler, "volunteer": volunteer, "taker": taker}
    return World(principals, {k: s["id"] for k, s in swaps.items()}, events)


def test_every_list_and_detail_pair_is_checked(app: FastAPI) -> None:
    assert list_detail_pairs(app.openapi()) == PAIRS, "name the new pair in PAIRS"


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("listing", sorted(PAIRS))
def test_a_detail_route_shows_exactly_what_its_listing_shows(
    world: World, listing: str, principal: str
) -> None:
    caller = world.principals[principal]
    status, every_id = _listed(world.principals["admin"], listing)
    assert status == 200
    assert every_id, f"the world holds no rows for {listing}"
    if listing == f"{API}/swaps":
        assert every_id == set(world.swaps.values())
    if listing == f"{API}/events":
        assert every_id >= set(world.events.values())
    status, listed = _listed(caller, listing)
    for row_id in sorted(every_id):
        response = caller.get(f"{listing}/{row_id}")
        if status == 403:
            assert response.status_code == 403, f"{listing}/{row_id}: {response.text}"
        elif row_id in listed:
            assert response.status_code == 200, f"{listing}/{row_id}: {response.text}"
        else:
            assert response.status_code == 404, f"{listing}/{row_id} is not listed: {response.text}"
            assert response.headers["content-type"] == PROBLEM_JSON
            # Indistinguishable from an id that exists nowhere.
            missing = caller.get(f"{listing}/9007199254740000").json()
            assert response.json()["code"] == missing["code"] == "resource.not_found"


def test_volunteers_see_their_own_offers_and_open_offers_they_could_be_given(
    world: World,
) -> None:
    _, listed = _listed(world.principals["volunteer"], f"{API}/swaps")
    visible = {
        "volunteer_open",
        "volunteer_cancelled",
        "colleague_open",
        "taken_by_volunteer",
        "reserved_for_volunteer",
    }
    assert listed == {world.swaps[name] for name in visible}
    _, for_scheduler = _listed(world.principals["scheduler"], f"{API}/swaps")
    assert for_scheduler == set(world.swaps.values())


def test_a_volunteer_cannot_read_a_colleagues_cancelled_offer_or_its_note(
    world: World,
) -> None:
    swap_id = world.swaps["colleague_cancelled"]
    hidden = world.principals["volunteer"].get(f"{API}/swaps/{swap_id}")
    assert hidden.status_code == 404
    assert "hospital" not in hidden.text
    assert ok(world.principals["scheduler"].get(f"{API}/swaps/{swap_id}"))["note"] == (
        "private: hospital appointment"
    )


def test_volunteers_see_published_and_cancelled_events_only(world: World) -> None:
    volunteer = world.principals["volunteer"]
    _, listed = _listed(volunteer, f"{API}/events")
    mine = {name for name, event_id in world.events.items() if event_id in listed}
    assert mine == {"published", "cancelled", "over"}
    assert volunteer.get(f"{API}/events/{world.events['draft']}").status_code == 404
