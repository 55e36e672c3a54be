"""No N+1 anywhere: every GET route of the app sends the database as many statements for a large
organisation as for a small one.

The routes come from `app.routes` (the JSON API, the calendar feeds and whatever else is served),
so a new route is measured without being listed here; its path and query parameters are filled
by tests/support/read_requests.py, and a parameter name it does not know fails
`test_every_get_route_parameter_has_a_value` until it is added there. Each route is asked once
per path value and once more per filter it takes (each alone, on a full page of 500), as the
admin and as a volunteer, in the small and in the large organisation of tests/support/
sized_organisation.py (ten times the rows, and longer lists inside each row). A warm-up request
comes first, so a cache filled on first use is not counted.

Routes that still grow with the data are listed in `KNOWN_N_PLUS_ONE`; the test checks that list
both ways, so a new N+1 fails and so does a fixed one still listed. Likewise the statements'
texts: a request sends the same texts for both organisations (an IN list of one placeholder per
id would not), save those in `KNOWN_GROWING_TEXT`. The health probes answer in
middleware (ops/health.py) and read no organisation's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from signupflow.people.models import Person, PersonSkill
from signupflow.tenancy import scoped
from tests.support.read_requests import requests_for, unknown_parameters
from tests.support.route_walk import get_routes
from tests.support.sized_organisation import Organisation
from tests.support.statements import StatementLog, recording

CALLERS = ("admin", "volunteer")

# What a volunteer may not read: their requests are still counted (a refusal must not grow
# either), and every other request answers them 200.
VOLUNTEER_FORBIDDEN = {
    "GET /api/v1/people",
    "GET /api/v1/people?q",
    "GET /api/v1/people?role",
    "GET /api/v1/people?active",
    "GET /api/v1/people?team_id",
    "GET /api/v1/people/export",
    "GET /api/v1/people/{person_id}",
    "GET /api/v1/assignments",  # without person_id: everyone's
    "GET /api/v1/assignments?from",
    "GET /api/v1/assignments?to",
    "GET /api/v1/schedules",
    "GET /api/v1/schedules?status",
    "GET /api/v1/schedules/{schedule_id}",
    "GET /api/v1/schedules/{schedule_id}/compare",
    "GET /api/v1/schedules/{schedule_id}/compare?against",
    "GET /api/v1/invitations",
    "GET /api/v1/audit",
    "GET /api/v1/audit?entity",
    "GET /api/v1/calendar/feeds/organisation",
    "GET /api/v1/people/{person_id}/calendar-feed",
}
# Lists that hold as many rows in both organisations, and why (every other list is longer in
# the large one).
SAME_ROWS = {
    "GET /api/v1/waitlist as admin": "the admin has no volunteer profile, so no places in line",
    "GET /api/v1/swaps?takeable as admin": "the admin has no volunteer profile to take offers",
    "GET /api/v1/events/{event_id}/waitlist as volunteer": "one place in line for them per event",
}
# Requests whose statement count still grows with the organisation, and why: each is an N+1
# to fix (then delete its line here; the test fails while a fixed one is still listed).
KNOWN_N_PLUS_ONE: dict[str, str] = {}
# Requests whose statements' text still grows with the organisation: an IN list written with
# one placeholder per id, which neither SQLAlchemy's statement cache nor psycopg's (statements
# under 4 KB) can keep; db/id_lists.py sends the ids as one parameter. Each is one to fix (then
# delete its line; the test fails while a fixed one is still listed).
KNOWN_GROWING_TEXT: dict[str, str] = {}


@dataclass
class Measured:
    status: int
    log: StatementLog
    rows: int | None  # a page's total
    body: bytes


def measure(client: TestClient, engine: Engine, url: str, **kw: Any) -> Measured:
    client.get(url, **kw)  # warm-up: first-use caches are not what this test counts
    with recording(engine) as log:
        response = client.get(url, **kw)
    body = response.json() if response.headers.get("content-type") == "application/json" else None
    rows = body.get("total") if isinstance(body, dict) else None
    return Measured(response.status_code, log, rows, response.content)


def as_its_model_writes_it(response_model: Any, body: bytes) -> bool:
    """Whether `body` is exactly what the route's response model writes for it: routes that
    write plain values instead of models (signupflow/responses.py) must not drift from it."""
    shape = TypeAdapter(response_model)
    return shape.dump_json(shape.validate_json(body)) == body


def growth(small: StatementLog, large: StatementLog) -> str:
    """The statements that ran more (or less) often in the large organisation."""
    before, after = small.shapes(), large.shapes()
    lines = [
        f"    {before[sql]} -> {after[sql]}: {sql[:300]}"
        for sql in sorted(before.keys() | after.keys())
        if before[sql] != after[sql]
    ]
    return f"{len(small)} -> {len(large)} statements\n" + "\n".join(lines)


def test_every_get_route_parameter_has_a_value(app: FastAPI) -> None:
    routes = get_routes(app)
    assert any(route.path == "/api/v1/calendar/{token}.ics" for route in routes)
    assert unknown_parameters(routes) == set(), (
        "add a value for these parameters to tests/support/read_requests.py"
    )


@pytest.mark.parametrize("caller", CALLERS)
def test_statements_per_request_do_not_grow_with_the_organisation(
    app: FastAPI, client: TestClient, sized_organisations: dict[str, Organisation], caller: str
) -> None:
    routes = get_routes(app)
    assert unknown_parameters(routes) == set()
    engine: Engine = app.state.engine
    small, large = sized_organisations["small"], sized_organisations["large"]
    grew: dict[str, str] = {}
    refused: set[str] = set()
    same_rows: set[str] = set()
    lengthened: dict[str, str] = {}
    for request in requests_for(routes, small):
        measured = [
            measure(
                client,
                engine,
                request.url(org),
                params=request.params(org),
                headers=org.member(caller).headers,
            )
            for org in (small, large)
        ]
        statuses = {m.status for m in measured}
        assert len(statuses) == 1, f"{request.label} as {caller}: {statuses}"
        status = statuses.pop()
        if status == 403 and caller == "volunteer":
            refused.add(request.label)
        else:
            assert status == 200, f"{request.label} as {caller}: {status}"
        small_rows, large_rows = measured[0].rows, measured[1].rows
        if small_rows is not None and large_rows is not None and small_rows >= large_rows:
            same_rows.add(f"{request.label} as {caller}")
        if status == 200 and request.route.response_model is not None:
            for org, result in zip(("small", "large"), measured, strict=True):
                assert as_its_model_writes_it(request.route.response_model, result.body), (
                    f"{request.label} as {caller} ({org}): the body is not its response model's"
                )
        if len(measured[0].log) != len(measured[1].log):
            grew[f"{request.label} as {caller}"] = growth(measured[0].log, measured[1].log)
        new_texts = measured[1].log.texts() - measured[0].log.texts()
        if new_texts:
            lengthened[f"{request.label} as {caller}"] = min(new_texts)[:300]
    if caller == "volunteer":
        assert refused == VOLUNTEER_FORBIDDEN
    # A list no longer in the large organisation would hide an N+1 from this test.
    assert same_rows == {label for label in SAME_ROWS if label.endswith(f" as {caller}")}
    known = {label for label in KNOWN_N_PLUS_ONE if label.endswith(f" as {caller}")}
    new = {label: grew[label] for label in grew.keys() - known}
    fixed = known - grew.keys()
    assert not new, "statements grow with the organisation:\n" + "\n".join(
        f"{label}: {detail}" for label, detail in sorted(new.items())
    )
    assert not fixed, f"fixed: delete these from KNOWN_N_PLUS_ONE: {sorted(fixed)}"
    known = {label for label in KNOWN_GROWING_TEXT if label.endswith(f" as {caller}")}
    new = {label: lengthened[label] for label in lengthened.keys() - known}
    assert not new, "statements whose text grows with the organisation:\n" + "\n".join(
        f"{label}: {text}" for label, text in sorted(new.items())
    )
    fixed = known - lengthened.keys()
    assert not fixed, f"fixed: delete these from KNOWN_GROWING_TEXT: {sorted(fixed)}"


def test_a_request_that_queries_once_per_row_is_caught(
    app: FastAPI, sized_organisations: dict[str, Organisation]
) -> None:
    """The check itself, on a throwaway app over the same database: reading each person's
    roles one person at a time grows with the organisation; one query for all does not."""
    engine: Engine = app.state.engine
    throwaway = FastAPI()

    @throwaway.get("/one-by-one/{organisation_id}")
    def one_by_one(organisation_id: int) -> list[list[str]]:
        with Session(engine) as session:
            people = session.scalars(scoped(select(Person.id), Person, organisation_id)).all()
            return [
                list(session.scalars(select(PersonSkill.role).where(PersonSkill.person_id == p)))
                for p in people
            ]

    @throwaway.get("/batched/{organisation_id}")
    def batched(organisation_id: int) -> list[list[str]]:
        with Session(engine) as session:
            people = session.scalars(scoped(select(Person.id), Person, organisation_id)).all()
            roles: dict[int, list[str]] = {p: [] for p in people}
            for person_id, role in session.execute(
                select(PersonSkill.person_id, PersonSkill.role).where(
                    PersonSkill.person_id.in_(people)
                )
            ):
                roles[person_id].append(role)
            return list(roles.values())

    with TestClient(throwaway) as client:
        counts = {
            path: [
                len(measure(client, engine, f"/{path}/{org.organisation_id}").log)
                for org in sized_organisations.values()
            ]
            for path in ("one-by-one", "batched")
        }
    assert counts["one-by-one"][0] < counts["one-by-one"][1], counts
    assert counts["batched"][0] == counts["batched"][1], counts


def test_a_body_its_response_model_would_write_otherwise_is_caught() -> None:
    from signupflow.assignments.schemas import AssignmentRead
    from signupflow.schemas import Page

    item = (
        '{"id":1,"event_id":2,"slot_id":3,"person_id":4,"role":"usher","status":"pending",'
        '"source":"manual","created_at":"2026-01-01T10:00:00Z","overridden_rule":null}'
    )
    page = f'{{"items":[{item}],"total":1,"limit":50,"offset":0}}'
    assert as_its_model_writes_it(Page[AssignmentRead], page.encode())
    reordered = page.replace('"total":1,"limit":50', '"limit":50,"total":1')
    assert not as_its_model_writes_it(Page[AssignmentRead], reordered.encode())
    offset_time = page.replace("10:00:00Z", "10:00:00+00:00")
    assert not as_its_model_writes_it(Page[AssignmentRead], offset_time.encode())
