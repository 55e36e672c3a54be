"""One organisation cannot starve the others: one solve per organisation at a time (across
instances: the database decides), a cap on solves inside requests per process, and an API
budget per organisation shared by all its members."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from signupflow.actor import Actor
from signupflow.app import create_app
from signupflow.db.base import utcnow
from signupflow.db.session import unit_of_work
from signupflow.organisations.models import Organisation
from signupflow.scheduling.models import Schedule, ScheduleStatus
from signupflow.scheduling.runs import admit
from signupflow.scheduling.solve import new_run
from tests.api.test_schedules import unique_time
from tests.api.test_solver_in_worker import _drain
from tests.factories import Org, add_event, add_person, invite_member, new_org, ok
from tests.support.concurrency import all_at_once
from tests.support.live_server import served
from tests.support.settings import make_settings

API = "/api/v1"
SOLVE = f"{API}/schedules/solve"


def solve_request(org: Org, days: int) -> dict[str, Any]:
    add_person(org, roles=["usher"], name="Usher")
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}], starts_in=unique_time(days))
    return {"starts_at": event["starts_at"], "ends_at": event["ends_at"]}


def running_elsewhere(client: TestClient, org: Org, body: dict[str, Any]) -> int:
    """A run another instance has just started solving for the organisation (what its
    request stores before it solves)."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with unit_of_work(factory) as session:
        schedule = new_run(
            actor=Actor.system(session.get_one(Organisation, org.id)),
            starts=datetime.fromisoformat(body["starts_at"]),
            ends=datetime.fromisoformat(body["ends_at"]),
            time_limit_s=30,
        )
        schedule.status, schedule.claimed_at = ScheduleStatus.RUNNING, utcnow()
        return admit(session, schedule).id


def assert_in_progress(response: Any, schedule_id: int, status: str) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "schedule.solve_in_progress"
    assert response.json()["params"] == {"schedule_id": schedule_id, "status": status}
    assert int(response.headers["retry-after"]) >= 1


@pytest.fixture(scope="module")
def worker_settings(database_url: str) -> Any:
    return make_settings(database_url, solver_in_worker=True)


@pytest.fixture(scope="module")
def worker_client(worker_settings: Any) -> Iterator[TestClient]:
    with TestClient(create_app(worker_settings)) as client:
        yield client


def test_two_solves_of_one_organisation_at_once_queue_one_and_refuse_the_other(
    worker_client: TestClient, worker_settings: Any
) -> None:
    busy, other = new_org(worker_client), new_org(worker_client)
    busy_body, other_body = solve_request(busy, 200), solve_request(other, 200)
    try:
        # Two more instances: the same database, each with its own process state.
        with (
            served(create_app(worker_settings)) as one,
            served(create_app(worker_settings)) as two,
        ):
            for url in (one, two):
                # FastAPI builds a route's dependencies at its first request; two first
                # requests at once can race there (a 500 unrelated to this test).
                assert httpx.post(f"{url}{SOLVE}", json={}).status_code == 401
            first, second, elsewhere = all_at_once(
                one,
                [
                    ("POST", SOLVE, busy.headers, busy_body),
                    ("POST", f"{two}{SOLVE}", busy.headers, busy_body),
                    ("POST", SOLVE, other.headers, other_body),
                ],
            )
        assert sorted([first[0], second[0]]) == [202, 409]
        queued, refused = (first, second) if first[0] == 202 else (second, first)
        assert refused[1]["code"] == "schedule.solve_in_progress"
        assert refused[1]["params"] == {"schedule_id": queued[1]["id"], "status": "queued"}
        assert elsewhere[0] == 202  # another organisation is not held up
    finally:
        _drain(worker_client)  # leave no queued run for other tests' workers
    # Solved: the organisation may solve again.
    assert ok(busy.post(SOLVE, json=busy_body), 202)["status"] == "queued"
    _drain(worker_client)


def test_a_solve_is_refused_while_another_instance_solves_for_the_organisation(
    client: TestClient,
) -> None:
    org, other = new_org(client), new_org(client)
    body = solve_request(org, 240)
    elsewhere = running_elsewhere(client, org, body)
    assert_in_progress(org.post(SOLVE, json=body), elsewhere, "running")
    assert ok(other.post(SOLVE, json=solve_request(other, 240)), 201)["status"] == "draft"
    refused = ok(org.get(f"{API}/schedules"))["items"]
    assert [s["id"] for s in refused] == [elsewhere]  # the refusal stored nothing


def test_a_run_abandoned_by_a_dead_process_does_not_block_the_organisation(
    client: TestClient,
) -> None:
    org = new_org(client)
    body = solve_request(org, 280)
    abandoned = running_elsewhere(client, org, body)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with unit_of_work(factory) as session:
        session.execute(
            update(Schedule)
            .where(Schedule.id == abandoned)
            .values(claimed_at=utcnow() - timedelta(hours=1))
        )
    assert ok(org.post(SOLVE, json=body), 201)["status"] == "draft"
    gone = ok(org.get(f"{API}/schedules/{abandoned}"))
    assert (gone["status"], gone["report"]["error"]) == ("failed", "LeaseExpired")


def test_solves_beyond_the_servers_cap_are_refused_at_once(client: TestClient) -> None:
    org = new_org(client)
    body = solve_request(org, 320)
    state = client.app.state  # type: ignore[attr-defined]
    with ExitStack() as busy:
        for _ in range(state.settings.max_concurrent_solves):
            busy.enter_context(state.solve_slots.held())  # as many solves as allowed, running
        refused = org.post(SOLVE, json=body)
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "schedule.solver_busy"
    assert int(refused.headers["retry-after"]) >= 1
    assert ok(org.get(f"{API}/schedules"))["items"] == []  # nothing stored, nothing held
    assert ok(org.post(SOLVE, json=body), 201)["status"] == "draft"


def test_one_organisation_cannot_use_up_the_api_budget_of_the_others(database_url: str) -> None:
    budget = 6
    settings = make_settings(database_url, org_api_requests_per_minute=budget)
    with TestClient(create_app(settings)) as client:
        org = new_org(client)
        member = invite_member(org)  # the invitation is the organisation's first request
        answers = [
            (who.get(f"{API}/me").status_code) for _ in range(budget) for who in (org, member)
        ]
        # Each member alone is far below the per-user limit; together they are not.
        assert answers[: budget - 1] == [200] * (budget - 1)
        assert set(answers[budget - 1 :]) == {429}
        refused = member.get(f"{API}/me")
        assert refused.json()["code"] == "request.rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert ok(new_org(client).get(f"{API}/me"))  # another organisation is served


def test_one_organisation_may_start_only_its_budget_of_solves_a_minute(database_url: str) -> None:
    settings = make_settings(database_url, org_solves_per_minute=2)
    with TestClient(create_app(settings)) as client:
        org, other = new_org(client), new_org(client)
        body = solve_request(org, 330)
        answers = [org.post(SOLVE, json=body) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert answers[2].json()["code"] == "request.rate_limited"
        assert int(answers[2].headers["retry-after"]) >= 1
        assert len(ok(org.get(f"{API}/schedules"))["items"]) == 2  # the refused one left nothing
        assert ok(other.post(SOLVE, json=solve_request(other, 330)), 201)["status"] == "draft"
