"""Schema-driven fuzzing of every operation in the OpenAPI document, with schemathesis.

Valid and invalid requests never get a 5xx and every error is application/problem+json;
requests that break the published schema are refused and change no data.

Schemathesis generates and judges the requests; they are sent through this module's TestClient,
so they reach an app whose lifespan has run, on its own event loop. The operations are read when
pytest collects this module (from an app built like the test app; building one opens no
database), so a new route is fuzzed without touching this file. Runs are reproducible: a fixed
seed, derandomized Hypothesis and no example database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import negative_data_rejection, not_a_server_error
from schemathesis.core import NotSet
from sqlalchemy import Engine, func, select

from signupflow.app import create_app
from signupflow.db.models import Base
from tests.factories import PASSWORD, Org, add_event, add_person, bearer, invite_member, new_org, ok
from tests.support.settings import make_settings

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
SEED = 20261125
# Hypothesis examples per operation, on top of schemathesis' deterministic coverage cases;
# small enough for this file to take well under three minutes on two cores with PostgreSQL.
MAX_EXAMPLES = 10


# These tests send thousands of requests a minute as one user on purpose; the per-user limits
# (tested elsewhere) would answer most of them 429 and hide what is being tested.
UNLIMITED = {"api_requests_per_minute": 1_000_000, "login_attempts_per_minute": 10_000}


@pytest.fixture(scope="module")
def app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url, **UNLIMITED))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def openapi_document() -> dict[str, Any]:
    return create_app(make_settings("sqlite://", **UNLIMITED)).openapi()


DOCUMENT = openapi_document()


def instants() -> st.SearchStrategy[str]:
    """RFC 3339 date-times pulled towards the ends of the calendar and extreme offsets, where
    converting to UTC or to a local time overflows; the default strategy rarely goes there."""
    edges = st.sampled_from(
        [
            datetime.min + timedelta(minutes=30),
            datetime.max - timedelta(minutes=30),
            datetime(1970, 1, 1),
            datetime(1999, 12, 31, 23, 59, 59),
            datetime(2200, 12, 31, 23, 59, 59),
        ]
    )
    offsets = st.sampled_from([0, 14 * 60, -12 * 60, 5 * 60 + 30]).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.builds(
        lambda day, zone: day.replace(tzinfo=zone).isoformat(), edges | st.datetimes(), offsets
    )


schemathesis.openapi.format("date-time", instants())
# The people import takes a CSV body: text on the wire, as text/plain.
schemathesis.serializer.alias("text/csv", "text/plain")


def schema_config(mode: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": mode,
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                # The caller's own token is always sent: a generated Authorization header would
                # be replaced by it, turning an "invalid" request into a valid one.
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "warnings": False,
        }
    )


def has_nothing_to_break(ctx: Any) -> bool:
    operation = DOCUMENT["paths"].get(ctx.operation.path, {}).get(ctx.operation.method.lower())
    return (
        operation is not None and not operation.get("parameters") and "requestBody" not in operation
    )


any_input = schemathesis.openapi.from_dict(DOCUMENT, config=schema_config("all"))
# An operation without parameters or body (GET /me) cannot be sent invalid input.
invalid_input = schemathesis.openapi.from_dict(DOCUMENT, config=schema_config("negative")).exclude(
    has_nothing_to_break
)

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        # Function-scoped fixtures here wrap one operation's whole run, not one example.
        HealthCheck.function_scoped_fixture,
    ],
)


def errors_are_problem_json(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx and 5xx is RFC 9457 problem+json whose `status` is the response's."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, (
        f"{response.status_code} answered with content-type {content_type!r}"
    )
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("status") == response.status_code, body
    assert body.get("title"), body
    return True


# negative_data_rejection: a request schemathesis made invalid must get a 4xx. It knows which
# invalid values become valid on the wire (a one-item array in a query string is one value).
CHECKS = [not_a_server_error, errors_are_problem_json, negative_data_rejection]


def described(case: Case) -> str:
    body = "" if isinstance(case.body, NotSet) else f" body={case.body!r}"
    return f"{case.method} {case.formatted_path} query={case.query!r}{body}"


def operation_of(case: Case) -> dict[str, Any]:
    operation: dict[str, Any] = DOCUMENT["paths"][case.operation.path][
        case.operation.method.lower()
    ]
    return operation


def invalid_parts(case: Case) -> set[str]:
    """The parts of the request that break the published schema ("path", "query", "body",
    "header", or "method" for a method the path does not serve).

    A malformed Content-Type on a request without a body breaks nothing the API reads."""
    if case.method.upper() != case.operation.method.upper():
        return {"method"}
    if case.meta is None or not case.meta.generation.mode.is_negative:
        return set()
    parts = {
        str(location.value)
        for location, info in case.meta.components.items()
        if info.mode == GenerationMode.NEGATIVE
    }
    if "requestBody" not in operation_of(case):
        parts.discard("header")
    return parts


class Caller:
    """An organisation's admin, sending schemathesis cases through the TestClient."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.headers = dict(org.headers)

    def log_in_again(self) -> None:
        tokens = ok(
            self.org.client.post(
                f"{API}/auth/login",
                json={"email": self.org.email, "password": PASSWORD, "organisation": self.org.slug},
            )
        )
        self.headers = bearer(tokens["access_token"])

    def send(self, case: Case) -> Any:
        # Schemathesis serialises for `requests`; the few keyword differences with httpx:
        request = case.as_transport_kwargs(base_url="http://testserver", headers=self.headers)
        unknown = request.keys() - {"method", "url", "headers", "params", "cookies", "json", "data"}
        assert not unknown, f"cannot send {sorted(unknown)} through the TestClient"
        data = request.get("data")
        if "json" in request:
            body: dict[str, Any] = {"json": request["json"]}
        elif isinstance(data, bytes | str):
            body = {"content": data}
        elif data is not None:
            body = {"data": data}
        else:
            body = {}
        response = self.org.client.request(
            request["method"],
            request["url"],
            params=request.get("params"),
            headers=request.get("headers"),
            cookies=request.get("cookies") or None,
            **body,
        )
        if response.status_code < 300 and case.operation.path == f"{API}/auth/logout":
            self.log_in_again()  # the fuzzed request ended this session; go on with a new one
        return response

    def call_and_check(self, case: Case) -> Any:
        response = self.send(case)
        case.validate_response(response, checks=CHECKS)
        return response


def seeded_org(client: TestClient) -> Org:
    """An organisation with a row of every kind, so fuzzed requests have something to hit."""
    org = new_org(client)
    volunteer = invite_member(org, roles=["usher"])
    volunteer_person = ok(volunteer.get(f"{API}/me"))["person"]["id"]
    person = add_person(org, roles=["usher"])
    team = ok(org.post(f"{API}/teams", json={"name": "Fuzz", "member_ids": [person["id"]]}), 201)
    event = add_event(org, team_id=team["id"])
    ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person["id"], "role": "usher"},
        ),
        201,
    )
    ok(
        org.post(
            f"{API}/people/{volunteer_person}/availability",
            json={"weekday": 1, "start_time": "09:00:00", "end_time": "10:00:00"},
        ),
        201,
    )
    ok(
        org.post(
            f"{API}/people/{volunteer_person}/time-off",
            json={"starts_on": "2031-01-01", "ends_on": "2031-01-02"},
        ),
        201,
    )
    ok(org.post(f"{API}/invitations", json={"email": "pending@example.org", "name": "P"}), 201)
    return org


@pytest.fixture(scope="module")
def any_input_caller(client: TestClient) -> Caller:
    return Caller(seeded_org(client))


@pytest.fixture(scope="module")
def invalid_input_caller(client: TestClient) -> Caller:
    return Caller(seeded_org(client))


def test_the_fuzzed_document_is_the_running_apps(client: TestClient) -> None:
    assert ok(client.get(f"{API}/openapi.json")) == DOCUMENT


@any_input.parametrize()
@FUZZ_SETTINGS
def test_no_request_gets_a_server_error_and_every_error_is_problem_json(
    case: Case, any_input_caller: Caller
) -> None:
    any_input_caller.call_and_check(case)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def readable_data(org: Org) -> dict[str, Any]:
    """Every listing the organisation's admin can read, whole."""
    seen = {}
    for path, operations in DOCUMENT["paths"].items():
        get = operations.get("get")
        if get is None or not path.startswith(API) or "{" in path:
            continue
        pageable = any(p["name"] == "limit" for p in get.get("parameters", []))
        response = org.get(path, params={"limit": 500} if pageable else None)
        is_json = "json" in response.headers.get("content-type", "")
        seen[path] = (response.status_code, response.json() if is_json else response.text)
    return seen


@pytest.fixture
def data_is_unchanged(app: FastAPI, invalid_input_caller: Caller) -> Iterator[None]:
    """Around one operation's whole run: every table's row count, and everything the
    organisation's admin can list, are exactly as before."""
    engine: Engine = app.state.engine
    org = invalid_input_caller.org
    before = row_counts(engine), readable_data(org)
    yield
    assert row_counts(engine) == before[0], "invalid requests changed row counts"
    assert readable_data(org) == before[1], "invalid requests changed the organisation's data"


@invalid_input.parametrize()
@FUZZ_SETTINGS
def test_invalid_request_is_refused_and_changes_nothing(
    case: Case, invalid_input_caller: Caller, app: FastAPI, data_is_unchanged: None
) -> None:
    invalid = invalid_parts(case)
    if not invalid:
        return  # shrinking can turn a case valid, and a valid request may change data
    engine: Engine = app.state.engine
    counts = row_counts(engine)
    response = invalid_input_caller.call_and_check(case)
    if "body" in invalid:
        # JSON keeps its types on the wire: no invalid body is ambiguous.
        assert response.status_code >= 400, (
            f"accepted with {response.status_code}: {described(case)}"
        )
    assert row_counts(engine) == counts, f"changed row counts: {described(case)}"


# Inputs the fuzzing above once found accepted (pydantic's lax parsing of numbers, booleans
# and Unix times) or answered with a 500 (datetimes at the calendar's ends overflow when
# converted; PostgreSQL refuses NUL), kept as fixed examples for both backends.
REFUSED = {
    "bool given as a number": (
        "POST",
        "/people",
        None,
        {"name": "N", "email": "n@example.org", "active": 0},
    ),
    "id given as text": ("POST", "/teams", None, {"name": "T", "member_ids": ["{person_id}"]}),
    "capacity given as text": (
        "POST",
        "/events",
        None,
        {
            "title": "E",
            "starts_at": "2031-01-01T10:00:00Z",
            "ends_at": "2031-01-01T11:00:00Z",
            "slots": [{"role": "usher", "capacity": "2"}],
        },
    ),
    "weekday given as text": (
        "POST",
        "/people/{person_id}/availability",
        None,
        {"weekday": "3", "start_time": "09:00:00", "end_time": "10:00:00"},
    ),
    "date given as Unix time": (
        "POST",
        "/people/{person_id}/time-off",
        None,
        {"starts_on": 1924992000, "ends_on": "2031-01-01"},
    ),
    "date-time given as Unix time": (
        "POST",
        "/events",
        None,
        {"title": "E", "starts_at": 1924992000, "ends_at": 1924995600},
    ),
    "event at the end of the calendar": (
        "POST",
        "/events",
        None,
        {
            "title": "E",
            "starts_at": "9999-12-31T20:00:00-05:00",
            "ends_at": "9999-12-31T21:00:00-05:00",
        },
    ),
    "event before the start of the calendar": (
        "PATCH",
        "/events/{event_id}",
        None,
        {"starts_at": "0001-01-01T00:00:00+05:00"},
    ),
    "filter before the start of the calendar": (
        "GET",
        "/events",
        {"from": "0001-01-01T00:30:00+14:00"},
        None,
    ),
    "filter at the end of the calendar": (
        "GET",
        "/assignments",
        {"to": "9999-12-31T23:30:00-12:00"},
        None,
    ),
    "filter given as Unix time": ("GET", "/assignments", {"to": "0.5"}, None),
    "search text with NUL": ("GET", "/people", {"q": "a\x00b"}, None),
}


@pytest.fixture(scope="module")
def refused_target(client: TestClient) -> tuple[Org, dict[str, int]]:
    org = seeded_org(client)
    ids = {
        "person_id": ok(org.get(f"{API}/people"))["items"][0]["id"],
        "event_id": ok(org.get(f"{API}/events"))["items"][0]["id"],
    }
    return org, ids


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize("example", list(REFUSED.values()), ids=list(REFUSED))
def test_input_outside_the_published_schema_is_refused(
    app: FastAPI, refused_target: tuple[Org, dict[str, int]], example: tuple[Any, ...]
) -> None:
    org, ids = refused_target
    method, path, params, body = example
    engine: Engine = app.state.engine
    counts = row_counts(engine)
    response = org.client.request(
        method,
        f"{API}{path.format(**ids)}",
        params=params,
        json=_fill(body, ids),
        headers=org.headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert row_counts(engine) == counts
