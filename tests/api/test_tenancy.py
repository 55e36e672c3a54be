"""Organisation A can neither read nor change organisation B's data, through any route.

The routes are read from the OpenAPI document at collection time, so a new route with a path
parameter is covered without touching this file, and fails here until organisation B has a row
for each of its parameters. Each call with B's ids must answer exactly like a call with an id
that exists nowhere (404, same problem body), and must leave everything B can see unchanged.
For A's admin the same request with A's own ids must then succeed, which proves the 404 came
from tenancy and not from a wrong body or a route that cannot succeed at all.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from signupflow.app import create_app
from tests.factories import (
    PASSWORD,
    Org,
    add_event,
    add_person,
    bearer,
    invite_member,
    make_calendar_links,
    new_org,
    ok,
    unique,
)
from tests.support.settings import make_settings

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
# Ids that exist in no organisation: MISSING_ID, MISSING_ID + 1, ... one per path parameter, so
# each can be found in an answer and swapped for the id it stands in for.
MISSING_ID = 9_007_199_254_740_000
WINDOW = {"weekday": 2, "start_time": "09:00:00", "end_time": "12:00:00"}
TIME_OFF = {"starts_on": "2031-03-01", "ends_on": "2031-03-02", "reason": "away"}

# Every path parameter, and the kinds of row organisation B has for it (see build_world).
RESOURCE_VARIANTS: dict[str, tuple[str, ...]] = {
    "person_id": ("with_login", "without_login"),
    "team_id": ("team",),
    "event_id": ("published",),
    "assignment_id": ("assignment",),
    "window_id": ("window",),
    "time_off_id": ("time_off",),
    "invitation_id": ("pending",),
    "waitlist_entry_id": ("waiting",),
    "swap_id": ("open",),
    "schedule_id": ("draft",),
    "entry_id": ("entry",),
    "series_id": ("series",),
}

# Public routes whose path parameter is itself the credential (a secret calendar feed URL): no
# organisation is involved, and an unknown or revoked token is a 404 (tests/api/test_calendar.py).
PUBLIC_TOKEN_ROUTES = frozenset({f"{API}/calendar/{{token}}.ics"})

# "admin" of A; a "volunteer" of A; a user who is a scheduler in A and an admin in B, acting in A.
PRINCIPALS = ("admin", "volunteer", "admin_of_b_acting_in_a")


# These tests send thousands of requests a minute as one user on purpose; the per-user limits
# (tested elsewhere) would answer most of them 429 and hide what is being tested.
UNLIMITED = {
    "api_requests_per_minute": 1_000_000,
    "org_api_requests_per_minute": 1_000_000,
    "login_attempts_per_minute": 10_000,
}


@pytest.fixture(scope="module")
def app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url, **UNLIMITED))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class World:
    """One organisation with at least one row of every kind, built through the API."""

    org: Org
    volunteer: Org
    ids: dict[str, dict[str, int]]  # path parameter -> variant -> id

    @property
    def offline_person_id(self) -> int:
        return self.ids["person_id"]["without_login"]


# A plausible, valid body for each request schema, for the caller's own organisation `world`.
BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "PersonUpdate": lambda _w: {"name": "Renamed", "roles": ["usher", "greeter"]},
    "MemberRoleUpdate": lambda _w: {"role": "admin"},
    "TeamUpdate": lambda _w: {"name": unique("renamed-team"), "member_ids": []},
    "EventUpdate": lambda _w: {"title": "Renamed", "location": "Hall"},
    "WindowCreate": lambda _w: WINDOW,
    "TimeOffCreate": lambda _w: TIME_OFF,
    "SignUp": lambda _w: {"role": "usher"},
    "AssignmentCreate": lambda w: {"person_id": w.offline_person_id, "role": "usher"},
    "SwapOfferCreate": lambda _w: {"note": "away that weekend"},
    "SwapTake": lambda w: {"person_id": w.ids["person_id"]["with_login"]},
    "EntryCreate": lambda w: {"slot_id": w.ids["slot"]["open"], "person_id": w.offline_person_id},
}

# What the same request answers with the caller's own ids, where that is not a 2xx.
OWN_ROW_STATUS: dict[tuple[str, str, str], int] = {
    # A person without a login has no membership, so there is no member role to change.
    ("PUT", f"{API}/people/{{person_id}}/member-role", "without_login"): 404,
    # The world's usher slot has room: sign up instead of queueing.
    ("POST", f"{API}/events/{{event_id}}/waitlist", "published"): 409,
    # The world's offer is open; only a taken offer (awaiting approval) can be decided.
    ("POST", f"{API}/swaps/{{swap_id}}/approve", "open"): 409,
    ("POST", f"{API}/swaps/{{swap_id}}/reject", "open"): 409,
    # Only a published schedule can be unpublished, only an earlier one rolled back to.
    ("POST", f"{API}/schedules/{{schedule_id}}/unpublish", "draft"): 409,
    ("POST", f"{API}/schedules/{{schedule_id}}/rollback", "draft"): 409,
}


@functools.cache
def collection_openapi() -> dict[str, Any]:
    """The OpenAPI document of an app built like the test app (building it opens no database)."""
    return create_app(make_settings("sqlite://", **UNLIMITED)).openapi()


def path_params(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]


def body_schema_name(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None
    ref: str = content.get("application/json", {}).get("schema", {}).get("$ref", "<inline>")
    return ref.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    params: tuple[str, ...]
    body: str | None

    def url(self, ids: dict[str, int]) -> str:
        return self.path.format(**ids)


def routes_with_path_params() -> list[Route]:
    return [
        Route(method.upper(), path, tuple(path_params(op)), body_schema_name(op))
        for path, operations in collection_openapi()["paths"].items()
        for method, op in operations.items()
        if path_params(op) and path not in PUBLIC_TOKEN_ROUTES
    ]


@dataclass(frozen=True)
class Case:
    principal: str
    route: Route
    variants: tuple[str, ...]  # one per path parameter, in order

    @property
    def id(self) -> str:
        label = f"{self.principal}:{self.route.method} {self.route.path.removeprefix(API)}"
        if any(len(RESOURCE_VARIANTS.get(p, ())) > 1 for p in self.route.params):
            label += "[" + ",".join(self.variants) + "]"
        return label


def cases() -> list[Case]:
    found = []
    for route in routes_with_path_params():
        # An unknown parameter still yields a case, which fails and says what is missing.
        choices = [RESOURCE_VARIANTS.get(p, ("<no row in organisation B>",)) for p in route.params]
        for principal in PRINCIPALS:
            for variants in itertools.product(*choices):
                found.append(Case(principal, route, variants))
    return found


CASES = cases()


def build_world(org: Org) -> World:
    """A person with a login and one without, a team, a published event with slots, an
    assignment, an availability window, time off, a pending invitation and the audit entries
    all of these leave."""
    me = ok(org.get(f"{API}/me"))
    ok(org.patch(f"{API}/people/{me['person']['id']}", json={"roles": ["usher"]}))
    volunteer = invite_member(org, roles=["usher"])
    volunteer_person = ok(volunteer.get(f"{API}/me"))["person"]["id"]
    offline = add_person(org, roles=["usher"], name="No Login")
    team = ok(
        org.post(
            f"{API}/teams",
            json={"name": unique("team"), "member_ids": [volunteer_person, offline["id"]]},
        ),
        201,
    )
    event = add_event(
        org,
        team_id=team["id"],
        slots=[{"role": "usher", "capacity": 3}, {"role": "greeter", "capacity": 1}],
    )
    assignment = ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": volunteer_person, "role": "usher"},
        ),
        201,
    )
    invitation = ok(
        org.post(
            f"{API}/invitations",
            json={"email": f"{unique('pending')}@example.org", "name": "Pending"},
        ),
        201,
    )
    # A full event a day later: the volunteer waits for the place the offline person holds
    # and offers to swap.
    full = add_event(org, slots=[{"role": "usher", "capacity": 1}], starts_in=noon_in(days=8))
    held = ok(
        org.post(
            f"{API}/events/{full['id']}/assignments",
            json={"person_id": offline["id"], "role": "usher"},
        ),
        201,
    )
    waiting = ok(volunteer.post(f"{API}/events/{full['id']}/waitlist", json={"role": "usher"}), 201)
    swap = ok(org.post(f"{API}/assignments/{held['id']}/swap-offers", json={}), 201)
    schedule, open_slot, entry = draft_schedule(org, offline["id"])
    series = ok(
        org.post(
            f"{API}/event-series",
            json={
                "title": "Weekly",
                # Years away: no draft's range ever takes it in.
                "starts_at": "2035-01-07T10:00:00Z",
                "ends_at": "2035-01-07T11:00:00Z",
                "status": "published",
                "slots": [{"role": "usher", "capacity": 1}],
                "rrule": "FREQ=WEEKLY;COUNT=2",
            },
        ),
        201,
    )
    # The volunteer is there for the full event only (at noon UTC: never across midnight).
    weekday = datetime.fromisoformat(full["starts_at"]).weekday()
    there = {"weekday": weekday, "start_time": "09:00:00", "end_time": "18:00:00"}
    window = ok(org.post(f"{API}/people/{volunteer_person}/availability", json=there), 201)
    time_off = ok(org.post(f"{API}/people/{volunteer_person}/time-off", json=TIME_OFF), 201)
    make_calendar_links(org, volunteer, person_ids=(offline["id"],))
    ids = {
        "schedule_id": {"draft": schedule},
        "entry_id": {"entry": entry},
        "slot": {"open": open_slot},  # not a path parameter: for the EntryCreate body
        "person_id": {"with_login": volunteer_person, "without_login": offline["id"]},
        "team_id": {"team": team["id"]},
        "event_id": {"published": event["id"]},
        "assignment_id": {"assignment": assignment["id"]},
        "window_id": {"window": window["id"]},
        "time_off_id": {"time_off": time_off["id"]},
        "invitation_id": {"pending": invitation["id"]},
        "waitlist_entry_id": {"waiting": waiting["id"]},
        "swap_id": {"open": swap["id"]},
        "series_id": {"series": series["id"]},
    }
    return World(org, volunteer, ids)


DRAFT_DAYS = itertools.count(500)


def noon_in(*, days: int) -> timedelta:
    """How long from now until noon UTC `days` days from today."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now.replace(hour=12, minute=0, second=0) + timedelta(days=days) - now


def draft_schedule(org: Org, offline_id: int) -> tuple[int, int, int]:
    """A draft for an event at a time of its own, with one entry and one free seat that
    `offline_id` may take."""
    event = add_event(
        org,
        slots=[{"role": "usher", "capacity": 2}],
        # A day of its own: worlds are built again for every admin case, in the same org.
        starts_in=timedelta(days=next(DRAFT_DAYS)),
    )
    draft = ok(
        org.post(
            f"{API}/schedules/solve",
            json={"starts_at": event["starts_at"], "ends_at": event["ends_at"]},
        ),
        201,
    )
    entries = draft["entries"]
    assert len(entries) == 2, draft["report"]
    gone = next((e for e in entries if e["person_id"] == offline_id), entries[0])
    ok(org.delete(f"{API}/schedules/{draft['id']}/entries/{gone['id']}"), 204)
    kept = next(e for e in entries if e["id"] != gone["id"])
    return draft["id"], event["slots"][0]["id"], kept["id"]


def get_routes(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, ops["get"]) for path, ops in doc["paths"].items() if "get" in ops]


def body_of(response: Any) -> Any:
    """JSON as data; other documents (CSV, iCalendar) as their text."""
    if "json" in response.headers.get("content-type", ""):
        return response.json()
    return response.text


def read(org: Org, path: str, operation: dict[str, Any]) -> tuple[int, Any]:
    """One GET's status and body; for a paged listing, every page's items in one body."""
    if not any(p["name"] == "limit" for p in operation.get("parameters", [])):
        response = org.get(path)
        return response.status_code, body_of(response)
    items: list[Any] = []
    while True:
        response = org.get(path, params={"limit": 500, "offset": len(items)})
        body = response.json()
        if response.status_code != 200:
            return response.status_code, body
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return 200, {**body, "items": items, "offset": 0}


def everything_visible_to(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    """What the organisation's admin can read: every listing, then every GET with a path
    parameter for each id its collection lists (`/people/{person_id}/...` from `/people`).
    A route whose ids no listing gives is left out; the route tests below name it."""
    seen: dict[str, Any] = {}
    for path, operation in get_routes(doc):
        if path.startswith(API) and not path_params(operation):
            seen[path] = read(org, path, operation)
    for path, operation in get_routes(doc):
        params = path_params(operation)
        collections = [path.split(f"/{{{param}}}")[0] for param in params]
        if not params or any(c not in seen for c in collections):
            continue
        choices = [[item["id"] for item in seen[c][1]["items"]] for c in collections]
        for combination in itertools.product(*choices):
            url = path.format(**dict(zip(params, combination, strict=True)))
            seen[url] = read(org, url, operation)
    return seen


@dataclass
class Tenants:
    doc: dict[str, Any]
    a: World
    principals: dict[str, Org]
    b: World
    b_before: dict[str, Any]

    def b_is_unchanged(self) -> None:
        after = everything_visible_to(self.b.org, self.doc)
        keys = self.b_before.keys() | after.keys()
        changed = sorted(k for k in keys if self.b_before.get(k) != after.get(k))
        self.b_before = after  # so a later test is judged by its own changes only
        assert not changed, f"organisation B's data changed: {changed}"


def join_both(a: Org, b: Org) -> Org:
    """A user who is a scheduler in A and an admin in B, logged in to act in A."""
    member = invite_member(a, role="scheduler")
    invitation = ok(
        b.post(f"{API}/invitations", json={"email": member.email, "name": "Both", "role": "admin"}),
        201,
    )
    ok(
        b.client.post(
            f"{API}/invitations/accept",
            json={"token": invitation["token"]},
            headers=member.headers,
        )
    )
    tokens = ok(
        a.client.post(
            f"{API}/auth/login",
            json={"email": member.email, "password": PASSWORD, "organisation": a.slug},
        )
    )
    assert tokens["organisation_id"] == a.id
    both = Org(a.client, a.id, a.slug, member.email, tokens, bearer(tokens["access_token"]))
    ok(both.put(f"{API}/calendar/feeds/me"))  # their calendar link in A, to be read back
    return both


@pytest.fixture(scope="module")
def tenants(client: TestClient, app: FastAPI) -> Tenants:
    doc = app.openapi()
    a = build_world(new_org(client))
    b = build_world(new_org(client))
    principals = {
        "admin": a.org,
        "volunteer": a.volunteer,
        "admin_of_b_acting_in_a": join_both(a.org, b.org),
    }
    return Tenants(doc, a, principals, b, everything_visible_to(b.org, doc))


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    return body


def test_the_routes_under_test_are_the_running_apps(app: FastAPI) -> None:
    assert app.openapi()["paths"] == collection_openapi()["paths"]
    assert {c.route.path for c in CASES} >= {f"{API}/events/{{event_id}}"}


def test_organisation_b_has_a_row_for_every_path_parameter(tenants: Tenants) -> None:
    params = {p for route in routes_with_path_params() for p in route.params}
    missing = params - RESOURCE_VARIANTS.keys()
    assert not missing, f"add rows for {sorted(missing)} to build_world and RESOURCE_VARIANTS"
    for param, variants in RESOURCE_VARIANTS.items():
        assert set(tenants.b.ids[param]) == set(variants), param
    bodies = {route.body for route in routes_with_path_params() if route.body}
    assert not bodies - BODIES.keys(), f"add valid bodies for {sorted(bodies - BODIES.keys())}"


def test_organisation_b_holds_every_kind_of_row(tenants: Tenants) -> None:
    seen = tenants.b_before
    people = seen[f"{API}/people"][1]["items"]
    assert {p["has_login"] for p in people} == {True, False}
    assert seen[f"{API}/teams"][1]["total"] == 1
    assert seen[f"{API}/events"][1]["items"][0]["slots"]
    assert seen[f"{API}/assignments"][1]["total"] == 2
    assert seen[f"{API}/swaps"][1]["total"] == 1
    assert {i["state"] for i in seen[f"{API}/invitations"][1]["items"]} >= {"pending", "accepted"}
    assert seen[f"{API}/audit"][1]["total"] >= 10
    volunteer = tenants.b.ids["person_id"]["with_login"]
    availability = seen[f"{API}/people/{volunteer}/availability"][1]
    assert availability["windows"]
    assert availability["time_off"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_resource_of_another_organisation_is_not_found(tenants: Tenants, case: Case) -> None:
    route = case.route
    unknown = [p for p in route.params if p not in RESOURCE_VARIANTS]
    assert not unknown, f"{route.method} {route.path}: organisation B has no row for {unknown}"
    assert route.body is None or route.body in BODIES, f"no valid body for {route.body}"
    caller = tenants.principals[case.principal]
    body = BODIES[route.body](tenants.a) if route.body else None

    def call(ids: dict[str, int], as_: Org = caller, json: Any = body) -> Any:
        return as_.client.request(route.method, route.url(ids), headers=as_.headers, json=json)

    b_ids = {
        p: tenants.b.ids[p][variant] for p, variant in zip(route.params, case.variants, strict=True)
    }
    missing_ids = {p: MISSING_ID + i for i, p in enumerate(route.params)}

    response = call(b_ids)
    tenants.b_is_unchanged()
    nowhere = call(missing_ids)
    assert nowhere.status_code in (403, 404), nowhere.text
    assert_problem(response, nowhere.status_code)
    # Indistinguishable from a row that does not exist: same status, same words.
    expected = nowhere.text
    for param, missing in missing_ids.items():
        expected = expected.replace(str(missing), str(b_ids[param]))
    assert response.text == expected
    if case.principal != "admin":
        return

    assert_problem(response, 404)
    own = build_world(tenants.a.org)
    own_ids = {
        p: own.ids[p][variant] for p, variant in zip(route.params, case.variants, strict=True)
    }
    own_body = BODIES[route.body](own) if route.body else None
    control = call(own_ids, json=own_body)
    expected_status = OWN_ROW_STATUS.get((route.method, route.path, *case.variants))
    if expected_status is None:
        assert 200 <= control.status_code < 300, f"own row: {control.status_code} {control.text}"
    else:
        assert control.status_code == expected_status, control.text
    tenants.b_is_unchanged()


def listing_routes(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, op) for path, op in get_routes(doc) if path.startswith(API) and not path_params(op)
    ]


def ids_in(body: Any, where: str = "") -> set[tuple[str, int]]:
    """Every `id` in a response body, with where it sits (`items.slots`): ids are unique
    within a table, and the place in the body tells the table."""
    if isinstance(body, dict):
        own = {(where, body["id"])} if isinstance(body.get("id"), int) else set()
        return own.union(*(ids_in(v, f"{where}.{k}") for k, v in body.items()))
    if isinstance(body, list):
        return set().union(*(ids_in(v, where) for v in body))
    return set()


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_listings_of_one_organisation_never_contain_another_organisations_rows(
    tenants: Tenants, principal: str
) -> None:
    caller = tenants.principals[principal]
    answered = 0
    for path, operation in listing_routes(tenants.doc):
        status, body = read(caller, path, operation)
        if status == 403:
            continue
        assert status == 200, f"{path}: {status} {body}"
        answered += 1
        _, b_body = tenants.b_before[path]
        leaked = ids_in(body) & ids_in(b_body)
        assert not leaked, f"{path} shows organisation B's rows {sorted(leaked)}"
    # Volunteers may read fewer listings, but every principal reads some.
    assert answered >= (len(listing_routes(tenants.doc)) if principal == "admin" else 3)
    tenants.b_is_unchanged()


def id_query_filters(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """GET routes filtered by an id in the query string (`/events?team_id=`)."""
    return [
        (path, op, p["name"])
        for path, op in listing_routes(doc)
        for p in op.get("parameters", [])
        if p["in"] == "query" and p["name"].endswith("_id")
    ]


def test_listing_filtered_by_another_organisations_id_is_empty(tenants: Tenants) -> None:
    filters = id_query_filters(tenants.doc)
    assert {(path, name) for path, _, name in filters} >= {
        (f"{API}/events", "team_id"),
        (f"{API}/assignments", "person_id"),
    }
    for path, _, name in filters:
        assert name in RESOURCE_VARIANTS, f"{path}?{name}: organisation B has no row for it"
        for b_id in tenants.b.ids[name].values():
            response = tenants.a.org.get(path, params={name: b_id})
            if response.status_code == 404:
                assert_problem(response, 404)
                continue
            body = ok(response)
            assert body["items"] == [], f"{path}?{name}={b_id} shows {body['items']}"
            assert body["total"] == 0
    # Organisation B does have rows matching those filters.
    b_event = tenants.b.ids["event_id"]["published"]
    team_id = tenants.b.ids["team_id"]["team"]
    assert [
        e["id"]
        for e in ok(tenants.b.org.get(f"{API}/events", params={"team_id": team_id}))["items"]
    ] == [b_event]
    tenants.b_is_unchanged()


def test_team_with_members_of_another_organisation_is_not_found(tenants: Tenants) -> None:
    a, b = tenants.a, tenants.b
    b_person = b.ids["person_id"]["without_login"]
    teams_before = ok(a.org.get(f"{API}/teams", params={"limit": 500}))
    assert_problem(
        a.org.post(f"{API}/teams", json={"name": unique("team"), "member_ids": [b_person]}), 404
    )
    team_id = a.ids["team_id"]["team"]
    assert_problem(
        a.org.patch(f"{API}/teams/{team_id}", json={"member_ids": [a.offline_person_id, b_person]}),
        404,
    )
    assert ok(a.org.get(f"{API}/teams", params={"limit": 500})) == teams_before
    tenants.b_is_unchanged()


def test_event_for_a_team_of_another_organisation_is_not_found(tenants: Tenants) -> None:
    a, b = tenants.a, tenants.b
    b_team = b.ids["team_id"]["team"]
    events_before = ok(a.org.get(f"{API}/events", params={"limit": 500}))
    assert_problem(
        a.org.post(
            f"{API}/events",
            json={
                "title": "Elsewhere",
                "starts_at": "2031-01-05T10:00:00+00:00",
                "ends_at": "2031-01-05T12:00:00+00:00",
                "team_id": b_team,
            },
        ),
        404,
    )
    event_id = a.ids["event_id"]["published"]
    assert_problem(a.org.patch(f"{API}/events/{event_id}", json={"team_id": b_team}), 404)
    assert ok(a.org.get(f"{API}/events", params={"limit": 500})) == events_before
    tenants.b_is_unchanged()


def test_person_of_another_organisation_cannot_be_assigned(tenants: Tenants) -> None:
    a, b = tenants.a, tenants.b
    event_id = a.ids["event_id"]["published"]
    before = ok(a.org.get(f"{API}/events/{event_id}/assignments"))
    for b_person in b.ids["person_id"].values():
        assert_problem(
            a.org.post(
                f"{API}/events/{event_id}/assignments",
                json={"person_id": b_person, "role": "usher"},
            ),
            404,
        )
    assert ok(a.org.get(f"{API}/events/{event_id}/assignments")) == before
    tenants.b_is_unchanged()


def test_inviting_an_email_known_to_another_organisation_creates_a_new_person(
    tenants: Tenants,
) -> None:
    a, b = tenants.a, tenants.b
    b_person = ok(b.org.get(f"{API}/people/{b.offline_person_id}"))
    invitation = ok(
        a.org.post(f"{API}/invitations", json={"email": b_person["email"], "name": "Namesake"}),
        201,
    )
    assert invitation["person_id"] not in b.ids["person_id"].values()
    assert ok(a.org.get(f"{API}/people/{invitation['person_id']}"))["email"] == b_person["email"]
    tenants.b_is_unchanged()


def test_login_into_an_organisation_without_membership_is_refused(tenants: Tenants) -> None:
    a, b = tenants.a, tenants.b
    response = a.org.client.post(
        f"{API}/auth/login",
        json={"email": a.org.email, "password": PASSWORD, "organisation": b.org.slug},
    )
    assert_problem(response, 401)
    tenants.b_is_unchanged()
