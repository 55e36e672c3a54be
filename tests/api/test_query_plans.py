"""Every statement a read makes reaches its tables through an index, on the database it runs on.

The statements are captured (with their parameters, as the driver received them) from every
GET request of tests/support/read_requests.py (every route, path value and filter, as the admin
and as a volunteer of the large organisation of tests/support/sized_organisation.py) and from
authentication: the bearer check every request makes, logging in, refreshing and logging out.
Each distinct statement is then explained; tests/support/query_plans.py states the rule for
each database (PostgreSQL: no Seq Scan left with `enable_seqscan = off`; SQLite: a SEARCH on an
equality of an index's leading columns, never a SCAN). On PostgreSQL each statement's generic
plan, the one a prepared statement runs, is checked too: no row is tested against a bound array
element by element.

Every table grows with the number of organisations (even `organisations`, `users` and the
refresh tokens), so none is exempt: `SMALL_TABLES` is where one would be written down, with the
reason, if a table were ever small and fixed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import BigInteger, Engine, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from signupflow.db.id_lists import among_ids
from signupflow.db.models import Base
from signupflow.people.models import PersonSkill
from signupflow.swaps.models import SwapRequest
from signupflow.tenancy import scoped
from tests.factories import PASSWORD, bearer, new_org, ok
from tests.support.query_plans import Plan, array_filters_of_generic_plan, explain
from tests.support.read_requests import requests_for, unknown_parameters
from tests.support.route_walk import get_routes
from tests.support.settings import BACKEND
from tests.support.sized_organisation import Organisation
from tests.support.statements import Statement, fold_in_lists, recording

API = "/api/v1"
EXPLAINED = ("SELECT", "WITH", "UPDATE", "DELETE")  # an INSERT of values reads no table
SMALL_TABLES: dict[str, str] = {}


def _distinct(statements: list[Statement]) -> Iterator[Statement]:
    seen: set[str] = set()
    for statement in statements:
        shape = fold_in_lists(statement.sql)
        if statement.verb in EXPLAINED and shape not in seen:
            seen.add(shape)
            yield statement


@pytest.fixture(scope="module")
def statements(
    app: FastAPI, client: TestClient, sized_organisations: dict[str, Organisation]
) -> list[Statement]:
    """What the reads of a large organisation and a login session send to the database."""
    routes = get_routes(app)
    assert unknown_parameters(routes) == set()
    org = sized_organisations["large"]
    admin = new_org(client)  # someone to log in as, with a password
    with recording(app.state.engine) as log:
        for caller in ("admin", "volunteer"):
            headers = org.member(caller).headers
            for request in requests_for(routes, org):
                response = client.get(request.url(org), params=request.params(org), headers=headers)
                assert response.status_code in (200, 403), (request.label, response.text)
        login = {"email": admin.email, "password": PASSWORD, "organisation": admin.slug}
        tokens = ok(client.post(f"{API}/auth/login", json=login))
        refreshed = ok(
            client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        )
        ok(client.post(f"{API}/auth/logout", headers=bearer(refreshed["access_token"])), 204)
    return list(_distinct(log.statements))


def _unindexed(engine: Engine, statement: Statement) -> tuple[Plan, list[str]]:
    plan = explain(engine, statement.sql, statement.parameters, set(Base.metadata.tables))
    return plan, [
        f"{read.table}: {read.how}"
        for read in plan.reads
        if not read.indexed and read.table not in SMALL_TABLES
    ]


def test_every_statement_of_a_read_uses_an_index(app: FastAPI, statements: list[Statement]) -> None:
    assert len(statements) > 50  # every list, detail and filter, not a handful
    failures = []
    for statement in statements:
        plan, unindexed = _unindexed(app.state.engine, statement)
        if unindexed:
            failures.append(f"{statement.sql}\n{plan.text}\n=> {', '.join(unindexed)}")
    assert not failures, f"{len(failures)} statements without an index:\n\n" + "\n\n".join(failures)


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite prepares no generic plan")
def test_no_generic_plan_filters_rows_by_a_bound_array(
    app: FastAPI, statements: list[Statement]
) -> None:
    failures = [
        f"{statement.sql}\n=> {', '.join(found)}"
        for statement in statements
        if (
            found := array_filters_of_generic_plan(
                app.state.engine, statement.sql, statement.parameters
            )
        )
    ]
    assert not failures, f"{len(failures)} statements:\n\n" + "\n\n".join(failures)


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite prepares no generic plan")
def test_a_generic_plan_filtering_by_a_bound_array_is_caught(app: FastAPI) -> None:
    """The check itself: `= ANY (array)` on a table read whole is such a filter; the set of
    ids `among_ids` joins is not."""
    engine: Engine = app.state.engine
    any_of = select(PersonSkill.role).where(
        PersonSkill.person_id == any_(bindparam("ids", type_=ARRAY(BigInteger())))
    )
    joined = select(PersonSkill.role).where(among_ids(PersonSkill.person_id, "ids"))
    with recording(engine) as log, engine.connect() as connection:
        for statement in (any_of, joined):
            connection.execute(statement, {"ids": [1, 2, 3]})
    by_array, by_set = log.statements
    assert array_filters_of_generic_plan(engine, by_array.sql, by_array.parameters)
    assert array_filters_of_generic_plan(engine, by_set.sql, by_set.parameters) == []


def test_a_statement_without_a_usable_index_is_caught(app: FastAPI) -> None:
    """The check itself: who took an offer has no index of its own, so a read by it alone
    cannot use one; a read by the organisation can."""
    engine: Engine = app.state.engine
    with recording(engine) as log, engine.connect() as connection:
        connection.execute(select(SwapRequest.id).where(SwapRequest.taken_by_person_id == 1))
        connection.execute(scoped(select(SwapRequest.id), SwapRequest, 1))
    by_taker, by_organisation = [s for s in log.statements if "swap_requests" in s.sql]
    unindexed = _unindexed(engine, by_taker)[1]
    assert len(unindexed) == 1, unindexed
    assert unindexed[0].startswith("swap_requests: "), unindexed
    assert _unindexed(engine, by_organisation)[1] == []
