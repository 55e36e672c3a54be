"""Conditional reads (signupflow/conditional.py): every member's JSON read carries a weak ETag
and answers 304 to it without running the route; every kind of write (requests, the worker's
solver run, an import, the CLI) changes the tags of the organisation it writes to, and only
those; the reads whose bodies change with the clock carry none.

The reads come from the OpenAPI document, classified here independently of the code under
test (authenticated, JSON, not in conditional.CLOCK_DEPENDENT), so a new read is checked as
soon as it exists; a path parameter this module cannot fill fails until WORLD_IDS names it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from signupflow.app import create_app
from signupflow.conditional import CLOCK_DEPENDENT
from signupflow.db.session import unit_of_work
from signupflow.deps import CurrentActor, DbSession, Member
from signupflow.events.models import Event
from signupflow.invitations.models import Invitation
from signupflow.scheduling.runs import claim_next, run_claimed
from signupflow.settings import Settings
from tests.factories import (
    Org,
    add_event,
    add_person,
    bearer,
    invite_member,
    make_calendar_links,
    new_org,
    ok,
    person_id_of,
)
from tests.support.read_requests import requests_for, unknown_parameters
from tests.support.route_walk import get_routes
from tests.support.settings import make_settings
from tests.support.sized_organisation import Organisation
from tests.support.statements import recording

API = "/api/v1"
SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
WEAK_TAG = re.compile(r'^W/"[0-9a-f]{32}"$')


# --- The reads, from the OpenAPI document ------------------------------------------------------


def get_operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        if "get" in item and path.startswith(API):
            yield path, item["get"]


def kind_of(path: str, operation: dict[str, Any]) -> str:
    """ "public" (no login), "file" (CSV, iCalendar), "clock" (always clock-dependent) or
    "tagged": what this module expects of a GET route."""
    if not operation.get("security"):
        return "public"
    if "application/json" not in operation["responses"]["200"].get("content", {}):
        return "file"
    clock = CLOCK_DEPENDENT.get(path)
    if clock is not None and clock.when is None:
        return "clock"
    return "tagged"


def tagged_reads(doc: dict[str, Any]) -> list[str]:
    return [path for path, op in get_operations(doc) if kind_of(path, op) == "tagged"]


def concrete(path: str, ids: dict[str, int]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in ids, f"{path}: no id for {{{name}}}; add one to the world (WORLD_IDS)"
        return str(ids[name])

    return re.sub(r"\{(\w+)\}", fill, path)


# --- One organisation with a row behind every read ---------------------------------------------

WORLD_IDS = ("event_id", "person_id", "team_id", "series_id", "schedule_id", "swap_id")


@dataclass
class World:
    client: TestClient
    admin: Org
    volunteer: Org
    other: Org  # another organisation's admin
    ids: dict[str, int]
    other_ids: dict[str, int]
    event: dict[str, Any]
    database_url: str
    tmp: Path

    def urls(self, doc: dict[str, Any]) -> list[str]:
        return [concrete(path, self.ids) for path in tagged_reads(doc)]

    def other_urls(self, doc: dict[str, Any]) -> list[str]:
        return [concrete(path, self.other_ids) for path in tagged_reads(doc)]


def drain_worker(client: TestClient) -> None:
    """Every queued solver run, solved by the worker's own code and sessions."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    while True:
        with unit_of_work(factory) as session:
            claimed = claim_next(session)
        if claimed is None:
            return
        run_claimed(factory, claimed)


def solve(org: Org, event: dict[str, Any]) -> int:
    body = {"starts_at": event["starts_at"], "ends_at": event["ends_at"]}
    queued = ok(org.post(f"{API}/schedules/solve", json=body), 202)
    schedule_id: int = queued["id"]
    return schedule_id


def furnish(client: TestClient, org: Org, days: int) -> tuple[dict[str, int], dict[str, Any]]:
    """Rows for every read of `org`: people, a team, events (one of them a series), a
    volunteer's sign-up, availability and swap offer, a schedule the worker made."""
    volunteer = invite_member(org, roles=["usher"])
    me = person_id_of(volunteer)
    person = add_person(org, roles=["usher"], name="Ana")
    team = ok(org.post(f"{API}/teams", json={"name": "Ushers", "member_ids": [person["id"]]}), 201)
    shift = add_event(org, slots=[{"role": "usher", "capacity": 3}], starts_in=timedelta(days=days))
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days + 1, hours=3)
    series = ok(
        org.post(
            f"{API}/event-series",
            json={
                "title": "Rehearsal",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1)).isoformat(),
                "slots": [{"role": "usher", "capacity": 1}],
                "rrule": "FREQ=DAILY;COUNT=2",
            },
        ),
        201,
    )
    signed = ok(volunteer.post(f"{API}/events/{shift['id']}/signups", json={"role": "usher"}), 201)
    swap = ok(volunteer.post(f"{API}/assignments/{signed['id']}/swap-offers", json={}), 201)
    ok(
        volunteer.post(
            f"{API}/people/{me}/availability",
            json={"weekday": 6, "start_time": "08:00", "end_time": "12:00"},
        ),
        201,
    )
    schedule_id = solve(org, shift)
    drain_worker(client)
    make_calendar_links(org, volunteer, person_ids=(person["id"],))
    ids = {
        "event_id": shift["id"],
        "person_id": me,
        "team_id": team["id"],
        "series_id": series["id"],
        "schedule_id": schedule_id,
        "swap_id": swap["id"],
    }
    return ids, shift


@pytest.fixture(scope="module")
def worker_client(database_url: str) -> Iterator[TestClient]:
    """Solver runs are queued and solved by the worker's code, as in production."""
    app = create_app(make_settings(database_url, solver_in_worker=True))
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def world(
    worker_client: TestClient, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> World:
    admin = new_org(worker_client)
    ids, shift = furnish(worker_client, admin, days=20)
    volunteer = invite_member(admin, roles=["usher"])
    ok(volunteer.put(f"{API}/calendar/feeds/me"))
    other = new_org(worker_client)
    other_ids, _ = furnish(worker_client, other, days=40)
    return World(
        worker_client,
        admin,
        volunteer,
        other,
        ids,
        other_ids,
        shift,
        database_url,
        tmp_path_factory.mktemp("conditional"),
    )


@pytest.fixture(scope="module")
def doc(worker_client: TestClient) -> dict[str, Any]:
    return worker_client.app.openapi()  # type: ignore[attr-defined,no-any-return]


def tag_of(org: Org, url: str) -> str:
    response = org.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
    tag: str = response.headers["etag"]
    return tag


def tags(org: Org, urls: list[str]) -> dict[str, str]:
    return {url: tag_of(org, url) for url in urls}


def conditional_get(org: Org, url: str, tag: str) -> Any:
    return org.client.get(url, headers={**org.headers, "If-None-Match": tag})


# --- Every read: an ETag, and 304 to it --------------------------------------------------------


def unanswered_conditional_reads(
    client: TestClient, doc: dict[str, Any], headers: dict[str, str], ids: dict[str, int]
) -> list[str]:
    """The tagged reads (by kind_of) that do not answer 200 with a weak ETag and
    `Cache-Control: private, no-cache`, then 304 with the same headers and no body to it."""
    problems = []
    for path in tagged_reads(doc):
        url = concrete(path, ids)
        first = client.get(url, headers=headers)
        if first.status_code != 200:
            problems.append(f"{url}: {first.status_code} {first.text}")
            continue
        tag = first.headers.get("etag", "")
        if not WEAK_TAG.match(tag) or first.headers.get("cache-control") != "private, no-cache":
            problems.append(
                f"{url}: ETag {tag!r}, Cache-Control {first.headers.get('cache-control')!r}"
            )
            continue
        again = client.get(url, headers={**headers, "If-None-Match": f'W/"other", {tag}'})
        if (again.status_code, again.content) != (304, b"") or again.headers.get("etag") != tag:
            problems.append(
                f"{url}: {again.status_code} to its own tag, ETag {again.headers.get('etag')!r}"
            )
        elif again.headers.get("cache-control") != "private, no-cache":
            problems.append(f"{url}: 304 without Cache-Control")
    return problems


def test_every_members_json_read_carries_a_weak_etag_and_answers_304_to_it(
    world: World, doc: dict[str, Any]
) -> None:
    kinds = {path: kind_of(path, op) for path, op in get_operations(doc)}
    assert sum(kind == "tagged" for kind in kinds.values()) >= 20, kinds
    assert unanswered_conditional_reads(world.client, doc, world.admin.headers, world.ids) == []


def test_the_document_offers_if_none_match_exactly_on_the_tagged_reads(doc: dict[str, Any]) -> None:
    for path, operation in get_operations(doc):
        names = {p["name"] for p in operation.get("parameters", [])}
        offered = "If-None-Match" in names and "304" in operation["responses"]
        assert offered == (kind_of(path, operation) == "tagged"), path


def test_a_volunteer_gets_tags_of_their_own_and_304_to_them(
    world: World, doc: dict[str, Any]
) -> None:
    readable = []
    for url in world.urls(doc):
        response = world.volunteer.get(url)
        if response.status_code == 200:
            readable.append(url)
            admins = tag_of(world.admin, url)
            assert response.headers["etag"] != admins, url
            # Someone else's tag is not yours: the whole body comes back.
            assert conditional_get(world.volunteer, url, admins).status_code == 200, url
            assert (
                conditional_get(world.volunteer, url, response.headers["etag"]).status_code == 304
            )
    assert {f"{API}/events", f"{API}/me"} <= set(readable)


# A member's JSON read that skips the check: it takes the caller from CurrentActor rather
# than from Member, Scheduler or Admin.
uncached_router = APIRouter(prefix=API)


@uncached_router.get("/uncached")
def uncached(actor: CurrentActor) -> dict[str, int]:
    return {"organisation": actor.organisation_id}


def test_a_read_without_the_conditional_check_is_found(
    settings: Settings, world: World, doc: dict[str, Any]
) -> None:
    app = create_app(settings)
    app.include_router(uncached_router)
    with TestClient(app) as client:
        found = unanswered_conditional_reads(client, app.openapi(), world.admin.headers, world.ids)
    assert [problem.split(":")[0] for problem in found] == [f"{API}/uncached"]


def test_a_tag_of_a_changed_read_gets_the_whole_body(world: World) -> None:
    url = f"{API}/events/{world.event['id']}"
    before = world.admin.get(url)
    ok(world.admin.patch(url, json={"title": "Evening service"}))
    after = conditional_get(world.admin, url, before.headers["etag"])
    assert after.status_code == 200
    assert after.json()["title"] == "Evening service"
    assert after.headers["etag"] != before.headers["etag"]


# --- A 304 does not run the route --------------------------------------------------------------


def statements_of(client: TestClient, url: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    with recording(client.app.state.engine) as log:  # type: ignore[attr-defined]
        response = client.get(url, headers=headers)
    return response.status_code, [" ".join(s.sql.split()) for s in log.statements]


def reads_doing_more_than_authentication_for_a_304(
    client: TestClient, doc: dict[str, Any], headers: dict[str, str], ids: dict[str, int]
) -> list[str]:
    """The tagged reads whose 304 runs any statement besides the ones a 304 of
    /organisation runs (authentication and the version: that route reads nothing else)."""
    reference_tag = client.get(f"{API}/organisation", headers=headers).headers["etag"]
    status, reference = statements_of(
        client, f"{API}/organisation", {**headers, "If-None-Match": reference_tag}
    )
    assert status == 304
    assert any("organisation_data_versions" in s for s in reference)
    found = []
    for path in tagged_reads(doc):
        url = concrete(path, ids)
        tag = client.get(url, headers=headers).headers.get("etag", "")
        status, seen = statements_of(client, url, {**headers, "If-None-Match": tag})
        if status != 304 or seen != reference:
            extra = [s for s in seen if s not in reference]
            found.append(f"{url}: {status}, {len(seen)} statements ({len(reference)}); {extra}")
    return found


def test_a_304_runs_only_authentication_and_the_version_query(
    world: World, doc: dict[str, Any]
) -> None:
    headers = world.admin.headers
    assert (
        reads_doing_more_than_authentication_for_a_304(world.client, doc, headers, world.ids) == []
    )
    # ...where the full answer runs the listing's own queries.
    tag = tag_of(world.admin, f"{API}/events")
    _, full = statements_of(world.client, f"{API}/events", headers)
    _, unchanged = statements_of(world.client, f"{API}/events", {**headers, "If-None-Match": tag})
    assert any("FROM events" in s for s in full)
    assert not any("FROM events" in s for s in unchanged)


# A read that queries before the caller (and so before the check) is known.
eager_router = APIRouter(prefix=API)


def events_first(session: DbSession) -> int:
    return len(session.scalars(select(Event.id).limit(5)).all())


@eager_router.get("/eager")
def eager(counted: Annotated[int, Depends(events_first)], actor: Member) -> dict[str, int]:
    return {"events": counted}


def test_a_read_that_queries_before_the_check_is_found(
    settings: Settings, world: World, doc: dict[str, Any]
) -> None:
    app = create_app(settings)
    app.include_router(eager_router)
    with TestClient(app) as client:
        found = reads_doing_more_than_authentication_for_a_304(
            client, app.openapi(), world.admin.headers, world.ids
        )
    assert [problem.split(":")[0] for problem in found] == [f"{API}/eager"]


@pytest.mark.parametrize("caller", ["admin", "volunteer"])
def test_every_read_request_answers_its_own_tag_with_a_304_that_runs_no_route(
    app: FastAPI,
    client: TestClient,
    sized_organisations: dict[str, Organisation],
    caller: str,
) -> None:
    """Every filter of every read too (tests/support/read_requests.py), for an admin and a
    volunteer: a tag, and a 304 to it with the statements of authentication and the version
    only; the clock's reads and the files carry none."""
    doc = app.openapi()
    operations = dict(get_operations(doc))
    routes = get_routes(app)
    assert unknown_parameters(routes) == set()
    org = sized_organisations["small"]
    headers = org.member(caller).headers
    reference_tag = client.get(f"{API}/organisation", headers=headers).headers["etag"]
    _, reference = statements_of(
        client, f"{API}/organisation", {**headers, "If-None-Match": reference_tag}
    )
    checked = 0
    for request in requests_for(routes, org):
        path = request.route.path
        if path not in operations:  # the OpenAPI document itself
            continue
        kind = kind_of(path, operations[path])
        clock = CLOCK_DEPENDENT.get(path)
        url = client.build_request("GET", request.url(org), params=request.params(org)).url
        first = client.get(str(url), headers=headers)
        if first.status_code == 403:
            continue
        assert first.status_code == 200, f"{request.label}: {first.status_code} {first.text}"
        timeless = clock is None or (clock.when is not None and request.filter != "takeable")
        if kind != "tagged" or not timeless:
            assert "etag" not in first.headers, request.label
            continue
        tag = first.headers["etag"]
        status, seen = statements_of(client, str(url), {**headers, "If-None-Match": tag})
        assert (status, seen) == (304, reference), request.label
        checked += 1
    assert checked >= {"admin": 30, "volunteer": 15}[caller]  # the walk did walk


# --- Writes change the tags of their organisation, only of theirs ------------------------------


def create_event(world: World) -> str:
    add_event(world.admin, starts_in=timedelta(days=25))
    return f"{API}/events"


def sign_up(world: World) -> str:
    ok(
        world.volunteer.post(f"{API}/events/{world.event['id']}/signups", json={"role": "usher"}),
        201,
    )
    return f"{API}/events/{world.event['id']}/assignments"


def assign(world: World) -> str:
    person = add_person(world.admin, roles=["usher"], name="Bea")
    url = f"{API}/events/{world.event['id']}/assignments"
    before = tag_of(world.admin, url)
    ok(world.admin.post(url, json={"person_id": person["id"], "role": "usher"}), 201)
    assert tag_of(world.admin, url) != before
    return url


def solver_result(world: World) -> str:
    """The worker's run: queued by one request, solved later by the worker, in its own
    sessions. The tags change when the worker commits its draft."""
    schedule_id = solve(world.admin, world.event)
    url = f"{API}/schedules/{schedule_id}"
    queued = world.admin.get(url)
    assert queued.json()["status"] == "queued"
    drain_worker(world.client)
    assert conditional_get(world.admin, url, queued.headers["etag"]).json()["status"] == "draft"
    return f"{API}/schedules"


def person_edit(world: World) -> str:
    ok(world.admin.patch(f"{API}/people/{world.ids['person_id']}", json={"max_per_week": 2}))
    return f"{API}/people/{world.ids['person_id']}"


def csv_import(world: World) -> str:
    body = "name,email,roles\nCarla,carla@example.org,usher;greeter\n"
    ok(
        world.admin.client.post(
            f"{API}/people/import",
            content=body.encode(),
            headers={**world.admin.headers, "Content-Type": "text/csv"},
        )
    )
    return f"{API}/people"


def cli_import(world: World) -> str:
    """`signupflow people import`, an operator's write in a process of its own."""
    csv = world.tmp / "people.csv"
    csv.write_text("name,email,roles\nDara,dara@example.org,usher\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": world.database_url,
        "APP_ENV": "test",
        # A checkout run through another checkout's virtualenv keeps its own code.
        **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
    }
    done = subprocess.run(
        [str(SIGNUPFLOW), "people", "import", "--org", world.admin.slug, str(csv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return f"{API}/people"


WRITES: dict[str, Callable[[World], str]] = {
    "create event": create_event,
    "sign up": sign_up,
    "assign": assign,
    "solver result": solver_result,
    "person edit": person_edit,
    "csv import": csv_import,
    "cli import": cli_import,
}


@pytest.mark.parametrize("write", WRITES)
def test_a_write_changes_the_tags_of_its_organisation_and_no_other(
    world: World, doc: dict[str, Any], write: str
) -> None:
    urls, other_urls = world.urls(doc), world.other_urls(doc)
    before, other_before = tags(world.admin, urls), tags(world.other, other_urls)
    bodies = {url: world.admin.get(url).json() for url in urls}
    shown = WRITES[write](world)
    after = tags(world.admin, urls)
    assert world.admin.get(shown).json() != bodies[shown], f"{shown} does not show the write"
    assert [url for url in urls if after[url] == before[url]] == []
    assert tags(world.other, other_urls) == other_before


def test_a_tag_names_the_code_that_built_the_body(settings: Settings, world: World) -> None:
    """Another release on the same data answers with other tags: a deploy never confirms a
    body an older code built."""
    url = f"{API}/events"
    tag = tag_of(world.admin, url)
    with TestClient(create_app(settings.model_copy(update={"release": "next"}))) as client:
        answer = client.get(url, headers={**world.admin.headers, "If-None-Match": tag})
    assert answer.status_code == 200
    assert answer.headers["etag"] != tag


def test_bodies_do_not_depend_on_the_accept_language(world: World, doc: dict[str, Any]) -> None:
    """So the tag leaves the language out."""
    for url in world.urls(doc):
        english = world.admin.client.get(
            url, headers={**world.admin.headers, "Accept-Language": "en"}
        )
        german = world.admin.client.get(
            url, headers={**world.admin.headers, "Accept-Language": "de"}
        )
        assert (english.content, english.headers["etag"]) == (
            german.content,
            german.headers["etag"],
        )


# --- Reads that change with the clock carry no tag ---------------------------------------------


def as_time_passes(client: TestClient, statement: Any) -> None:
    """What the passing of time does to stored rows' relation to now, written around the
    sessions (no data version changes): a raw connection of the app's engine."""
    with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(statement)


def test_the_invitations_list_changes_with_the_clock_and_carries_no_tag(world: World) -> None:
    invited = ok(
        world.admin.post(
            f"{API}/invitations",
            json={"email": "late@example.org", "name": "Late", "role": "volunteer", "roles": []},
        ),
        201,
    )
    url = f"{API}/invitations"
    version = tag_of(world.admin, f"{API}/organisation")

    def state() -> str:
        answer = world.admin.get(url, params={"limit": 500})
        assert answer.status_code == 200
        assert "etag" not in answer.headers
        return next(i["state"] for i in answer.json()["items"] if i["id"] == invited["id"])

    assert state() == "pending"
    past = datetime.now(UTC) - timedelta(minutes=1)
    as_time_passes(
        world.client,
        update(Invitation).where(Invitation.id == invited["id"]).values(expires_at=past),
    )
    assert state() == "expired"
    # No write the version knows of: a tag would have confirmed the stale "pending".
    assert tag_of(world.admin, f"{API}/organisation") == version
    assert conditional_get(world.admin, url, version).status_code == 200


def test_takeable_swaps_change_with_the_clock_and_carry_no_tag(world: World) -> None:
    colleague = invite_member(world.admin, roles=["usher"])
    shift = add_event(world.admin, starts_in=timedelta(days=30, hours=5))
    signed = ok(colleague.post(f"{API}/events/{shift['id']}/signups", json={"role": "usher"}), 201)
    offer = ok(colleague.post(f"{API}/assignments/{signed['id']}/swap-offers", json={}), 201)

    def takeable() -> set[int]:
        answer = world.volunteer.get(f"{API}/swaps", params={"takeable": "true", "limit": 500})
        assert answer.status_code == 200
        assert "etag" not in answer.headers
        return {swap["id"] for swap in answer.json()["items"]}

    assert offer["id"] in takeable()
    # The plain listing is tagged: it does not look at the clock.
    assert WEAK_TAG.match(tag_of(world.volunteer, f"{API}/swaps"))
    started = datetime.now(UTC) - timedelta(minutes=1)
    as_time_passes(
        world.client,
        update(Event)
        .where(Event.id == shift["id"])
        .values(starts_at=started, ends_at=started + timedelta(hours=2)),
    )
    assert offer["id"] not in takeable()


def test_every_clock_dependent_entry_names_a_read(doc: dict[str, Any]) -> None:
    reads = dict(get_operations(doc))
    for path in CLOCK_DEPENDENT:
        assert path in reads, path
        assert kind_of(path, reads[path]) in {"clock", "tagged"}, path


def test_a_bearer_token_of_another_organisation_never_gets_a_304(world: World) -> None:
    url = f"{API}/organisation"
    tag = tag_of(world.admin, url)
    answer = world.client.get(
        url, headers={**bearer(world.other.tokens["access_token"]), "If-None-Match": tag}
    )
    assert answer.status_code == 200
    assert answer.json()["id"] == world.other.id
