"""Load: sixty-four concurrent clients on authenticated endpoints of a real `signupflow serve`
process, and the rule that keeps such load from stalling it: no `async def` in src/ makes a
blocking database call."""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from harness.app_server import AppServer, running_server
from harness.wrk import run_wrk, wrk_binary, wrk_command
from tests.factories import Org, add_event, add_person, new_org, ok
from tests.support.services import require_service
from tests.support.settings import BACKEND
from tests.support.signup import mailed_signup_token_in

LOAD_S = 30
CLIENTS = 64
# The slowest figure measured on the reference 2-core machine was several times this
# (docs/benchmarks.md); a server that stalls for most of the run falls below it.
MIN_REQUESTS = 1_000
FOLLOW_UP_LIMIT_S = 1.0
ROLES = ("usher", "greeter", "musician")

DB_METHODS = frozenset(
    {
        "query",
        "execute",
        "exec_driver_sql",
        "scalar",
        "scalars",
        "get",
        "commit",
        "rollback",
        "flush",
        "refresh",
        "merge",
        "delete",
        "add_all",
        "connect",
        "begin",
    }
)
DB_RECEIVERS = ("session", "db", "conn", "engine")
SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture
def load_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on the suite's backend (TEST_DATABASE), as in conftest.database_url."""
    if BACKEND == "postgresql":
        external = os.environ.get("TEST_POSTGRES_URL")
        if external:
            return external
        return str(request.getfixturevalue("pg_cluster").create_database("signupflow_load"))
    if BACKEND != "sqlite":
        pytest.fail(f"unknown TEST_DATABASE={BACKEND!r}; use sqlite or postgresql")
    return f"sqlite:///{tmp_path / 'load.db'}"


@pytest.fixture
def server(load_database_url: str, tmp_path: Path) -> Iterator[AppServer]:
    if wrk_binary() is None:
        require_service("wrk is not installed (apt-get install wrk)")
    extra_env = {"BCRYPT_ROUNDS": "4"}  # only the seeding's sign-up hashes a password
    with running_server(load_database_url, workdir=tmp_path, extra_env=extra_env) as running:
        yield running


def seed_small_organisation(client: httpx.Client, database_url: str) -> tuple[Org, list[str]]:
    """30 people, 10 events with 3 role slots of 2, every slot filled; the paths to read."""
    org = new_org(
        client,  # type: ignore[arg-type]
        mailed_token=lambda email: mailed_signup_token_in(database_url, email),
    )
    people = [add_person(org, roles=[ROLES[i % 3], ROLES[(i + 1) % 3]]) for i in range(30)]
    events = [
        add_event(
            org,
            slots=[{"role": role, "capacity": 2} for role in ROLES],
            starts_in=timedelta(days=7 + i),
        )
        for i in range(10)
    ]
    turn = 0
    for event in events:
        serving: set[int] = set()
        for role in ROLES:
            for _ in range(2):
                while role not in people[turn % 30]["roles"] or people[turn % 30]["id"] in serving:
                    turn += 1
                person = people[turn % 30]
                ok(
                    org.post(
                        f"/api/v1/events/{event['id']}/assignments",
                        json={"person_id": person["id"], "role": role},
                    ),
                    201,
                )
                serving.add(person["id"])
    paths = [
        "/api/v1/events?limit=50",
        "/api/v1/people?limit=200",
        "/api/v1/assignments?limit=200",
        f"/api/v1/events/{events[0]['id']}/assignments",
        f"/api/v1/events/{events[5]['id']}",
        f"/api/v1/people/{people[7]['id']}",
    ]
    for path in paths:
        ok(org.get(path))
    return org, paths


@pytest.mark.slow
def test_sixty_four_clients_get_an_answer_to_every_request_and_the_server_stays_responsive(
    server: AppServer, load_database_url: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        org, paths = seed_small_organisation(client, load_database_url)
        command = wrk_command(
            server.url + paths[0],
            connections=CLIENTS,
            duration_s=LOAD_S,
            token=org.tokens["access_token"],
            rotate_paths=paths,
            wrk=wrk_binary() or "wrk",
        )
        result, report = run_wrk(command, duration_s=LOAD_S)

        # It waits behind whatever wrk left queued: a stalled or exhausted server shows here.
        started = time.monotonic()
        follow_up = org.get(paths[4])
        follow_up_s = time.monotonic() - started
        health = client.get("/health")

    print(
        f"\n{BACKEND}: {result.requests} requests in {result.seconds:.1f} s, "
        f"follow-up answered in {follow_up_s * 1000:.0f} ms\n{report}"
    )
    assert result.socket_errors == 0, report
    assert result.statuses is not None, report
    assert result.non_2xx == 0, result.statuses
    assert sum(result.statuses.values()) >= result.requests > MIN_REQUESTS, report
    assert follow_up.status_code == 200, follow_up.text
    assert follow_up_s < FOLLOW_UP_LIMIT_S, f"follow-up request took {follow_up_s:.2f} s"
    assert health.status_code == 200, health.text
    assert server.stop() == 0, server.logs()
    log = server.logs()
    for sign_of_trouble in ("Traceback", "TimeoutError", "QueuePool limit"):
        assert sign_of_trouble not in log, log[-5000:]


def _own_nodes(function: ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """The nodes of `function` itself: a nested `def` or lambda runs wherever it is called
    (often a worker thread), so its body is judged where it is defined, not here."""
    nested = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    pending: list[ast.AST] = [node for node in function.body if not isinstance(node, nested)]
    while pending:
        node = pending.pop()
        yield node
        pending += [child for child in ast.iter_child_nodes(node) if not isinstance(child, nested)]


def blocking_database_calls(source: str, filename: str) -> list[str]:
    """`file:line` of each database call made without `await` inside an `async def`."""
    found = []
    for function in ast.walk(ast.parse(source, filename)):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        nodes = list(_own_nodes(function))
        awaited = {id(node.value) for node in nodes if isinstance(node, ast.Await)}
        for node in nodes:
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = ast.unparse(node.func.value).lower()
            if (
                node.func.attr in DB_METHODS
                and any(word in receiver for word in DB_RECEIVERS)
                and id(node) not in awaited
            ):
                found.append(
                    f"{filename}:{node.lineno}: {ast.unparse(node.func)}(...) "
                    f"in async def {function.name}"
                )
    return sorted(found)


def test_no_async_function_in_src_calls_the_database_without_await() -> None:
    found: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        found += blocking_database_calls(path.read_text(), str(path.relative_to(SRC.parent)))
    assert found == [], (
        "blocking database calls on the event loop (make the function a plain def, or run "
        "the call with anyio.to_thread.run_sync):\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("async def f(session):\n    return session.execute(q)\n", True),
        ("async def f(request):\n    request.state.db.commit()\n", True),
        (
            "async def f(engine):\n    with engine.connect() as conn:\n        conn.scalar(q)\n",
            True,
        ),
        ("async def f(session):\n    return await session.execute(q)\n", False),
        ("async def f(session):\n    await to_thread.run_sync(session.commit)\n", False),
        (
            "async def f(s):\n    def work():\n        s.session.flush()\n    await run(work)\n",
            False,
        ),
        ("def f(session):\n    return session.execute(q)\n", False),
        ("async def f(headers):\n    return headers.get('x')\n", False),
    ],
)
def test_blocking_call_check_tells_awaited_from_blocking_calls(source: str, flagged: bool) -> None:
    assert bool(blocking_database_calls(source, "example.py")) is flagged
