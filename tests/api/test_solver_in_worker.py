"""SOLVER_IN_WORKER: the API queues the run (202) and a worker solves it; the same draft as a
run inside the request, a failed run is marked failed, and a dead worker's claim expires."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from signupflow.app import create_app
from signupflow.db.base import utcnow
from signupflow.db.session import unit_of_work
from signupflow.ops.metrics import SOLVER_QUEUED
from signupflow.scheduling.models import Schedule, ScheduleStatus
from signupflow.scheduling.runs import claim_next, run_claimed, update_queue_gauge
from signupflow.worker.tasks import TASKS, measure_solver_queue_depth
from tests.api.test_schedules import unique_time
from tests.factories import Org, add_event, add_person, new_org, ok
from tests.support.settings import make_settings

API = "/api/v1"


@pytest.fixture(scope="module")
def worker_client(database_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, solver_in_worker=True))
    with TestClient(app) as client:
        yield client


def _queue(org: Org, days: int) -> dict:
    for i in range(3):
        add_person(org, roles=["usher"], name=f"Usher {i}")
    event = add_event(org, slots=[{"role": "usher", "capacity": 2}], starts_in=unique_time(days))
    body = {"starts_at": event["starts_at"], "ends_at": event["ends_at"]}
    response = org.post(f"{API}/schedules/solve", json=body)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert response.headers["location"] == f"{API}/schedules/{queued['id']}"
    assert (queued["status"], queued["entries"]) == ("queued", [])
    return queued


def _drain(client: TestClient) -> list[int]:
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    solved = []
    while True:
        with unit_of_work(factory) as session:
            claimed = claim_next(session)
        if claimed is None:
            return solved
        run_claimed(factory, claimed)
        solved.append(claimed)


def test_queued_run_is_solved_by_the_worker(worker_client: TestClient) -> None:
    org = new_org(worker_client)
    queued = _queue(org, 40)
    assert queued["id"] in _drain(worker_client)
    draft = ok(org.get(f"{API}/schedules/{queued['id']}"))
    assert draft["status"] == "draft"
    assert (draft["report"]["seats"], draft["report"]["filled"]) == (2, 2)
    assert len(draft["entries"]) == 2
    assert draft["report"]["violations"] == []
    ok(org.post(f"{API}/schedules/{queued['id']}/publish"))


def test_a_queued_run_cannot_be_edited_or_published(worker_client: TestClient) -> None:
    org = new_org(worker_client)
    queued = _queue(org, 80)
    refused = org.post(f"{API}/schedules/{queued['id']}/publish")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    _drain(worker_client)


def test_a_run_that_raises_is_marked_failed(worker_client: TestClient) -> None:
    org = new_org(worker_client)
    queued = _queue(org, 120)
    factory = worker_client.app.state.session_factory  # type: ignore[attr-defined]
    with unit_of_work(factory) as session:
        # A request the solver cannot read: what any bug in a run looks like to the worker.
        session.execute(update(Schedule).where(Schedule.id == queued["id"]).values(report={}))
    _drain(worker_client)
    failed = ok(org.get(f"{API}/schedules/{queued['id']}"))
    assert failed["status"] == "failed"
    assert failed["report"]["error"] == "KeyError"


def test_a_dead_workers_claim_expires_and_no_run_is_claimed_twice(
    worker_client: TestClient,
) -> None:
    org = new_org(worker_client)
    queued = _queue(org, 160)
    factory = worker_client.app.state.session_factory  # type: ignore[attr-defined]
    with unit_of_work(factory) as session:
        first = claim_next(session)
    assert first == queued["id"]
    with unit_of_work(factory) as session:
        assert claim_next(session) is None  # running, and its lease is young
    with unit_of_work(factory) as session:
        session.execute(
            update(Schedule)
            .where(Schedule.id == first)
            .values(claimed_at=utcnow() - timedelta(hours=1))
        )
    assert _drain(worker_client) == [first]
    assert ok(org.get(f"{API}/schedules/{first}"))["status"] == ScheduleStatus.DRAFT


def test_the_solver_queue_depth_gauge_counts_runs_waiting_for_a_worker(
    worker_client: TestClient,
) -> None:
    factory = worker_client.app.state.session_factory  # type: ignore[attr-defined]
    _drain(worker_client)
    _queue(new_org(worker_client), 200)
    _queue(new_org(worker_client), 240)
    assert update_queue_gauge(factory) == 2
    assert SOLVER_QUEUED._value.get() == 2  # what the worker's /metrics serves
    with unit_of_work(factory) as session:
        claimed = claim_next(session)  # running: no longer waiting
    assert claimed is not None
    assert update_queue_gauge(factory) == 1
    run_claimed(factory, claimed)
    _drain(worker_client)
    assert update_queue_gauge(factory) == 0
    assert SOLVER_QUEUED._value.get() == 0
    timed = [task for task in TASKS if task.run is measure_solver_queue_depth]
    assert [task.interval_s for task in timed] == [30.0]  # every worker measures it
