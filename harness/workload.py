"""The standard workload (shared notes, benchmarks.md), for the benchmarks and the tests that
read it: a fresh database seeded with it, its slots filled through the API, the admin's token,
and the read endpoints `make bench` measures, each checked to answer with the rows it should.

The data is seeded by `signupflow.demo.seed_workload`; what talks HTTP here drives a real
server (`httpx.Client`) and an in-process app (`TestClient`) alike."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from harness.postgres import start_cluster
from harness.services import ServiceMissing
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import seed_workload
from signupflow.settings import Settings

DATABASES = ("sqlite", "postgresql")
SLUG = "bench"
ADMIN_EMAIL = "admin@bench.example.org"
PASSWORD = "bench-password-not-secret"
EVENTS = 50
PEOPLE = 200  # listed of 201: the admin is a person of the organisation too
SLOTS = 200
BENCH_ENDPOINTS = ("health", "list events", "list people", "event assignments", "org assignments")


def workload_settings(database_url: str) -> Settings:
    """The settings the workload is seeded and read in process with."""
    return Settings(
        _env_file=None,
        app_env="test",
        database_url=database_url,
        bcrypt_rounds=4,  # the admin's hash only; login speed is not what is measured
        load_demo=False,
    )


@contextlib.contextmanager
def fresh_database(database: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `workdir`, or a database in a throwaway
    PostgreSQL cluster removed on exit."""
    if database == "sqlite":
        yield f"sqlite:///{workdir / f'{SLUG}.db'}"
        return
    if database != "postgresql":
        raise ValueError(f"{database!r} is none of {DATABASES}")
    cluster = start_cluster()
    if cluster is None:
        raise ServiceMissing(
            "PostgreSQL server binaries (initdb) are not installed; install postgresql"
        )
    try:
        yield cluster.create_database(f"signupflow_{SLUG}")
    finally:
        cluster.destroy()


def seed(database_url: str) -> str:
    """Migrate and seed the standard workload (organisation SLUG, admin ADMIN_EMAIL); the
    database server's version."""
    engine = make_engine(workload_settings(database_url))
    try:
        migrate.upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_workload(
                session,
                workload_settings(database_url),
                slug=SLUG,
                admin_email=ADMIN_EMAIL,
                password=PASSWORD,
            )
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                return str(connection.execute(text("SHOW server_version")).scalar_one())
            return str(connection.execute(text("SELECT sqlite_version()")).scalar_one())
    finally:
        engine.dispose()


def analyze(database_url: str) -> None:
    """PostgreSQL: ANALYZE, as autovacuum does after a bulk load, so that the planner sees the
    rows just written and a run is not measured before and after autovacuum gets to them.
    SQLite: nothing (nothing analyzes a production SQLite database either)."""
    engine = make_engine(workload_settings(database_url))
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    rows: int  # items the endpoint returns, checked before it is measured
    authenticated: bool = True


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_json(client: httpx.Client, path: str, token: str) -> Any:
    response = client.get(path, headers=bearer(token))
    response.raise_for_status()
    return response.json()


class AdminToken:
    """An admin's access token, renewed only when a run could outlast it: logins are
    rate-limited per account, so one per run would soon be refused."""

    def __init__(
        self, client: httpx.Client, *, email: str, organisation: str, password: str = PASSWORD
    ) -> None:
        self.client = client
        self.login = {"email": email, "password": password, "organisation": organisation}
        self.value = ""
        self.expires_at = 0.0

    def valid_for(self, seconds: float) -> str:
        if self.expires_at - time.monotonic() < seconds + 10:
            response = self.client.post("/api/v1/auth/login", json=self.login)
            response.raise_for_status()
            body = response.json()
            self.value = str(body["access_token"])
            self.expires_at = time.monotonic() + float(body["expires_in"])
        return self.value


def fill_in_turns(
    seats: Iterable[tuple[int, str]],
    line: dict[str, list[int]],
    place: Callable[[int, int, str], bool],
) -> int:
    """Give each seat (event id, role), in order, to the first in its role's line who does not
    serve at that event yet and whom `place(event_id, person_id, role)` places (False: they are
    away then). They go to the back of the line; whoever is passed over keeps their turn, so
    the places spread over the whole organisation. Returns the places given."""
    serving: dict[int, set[int]] = {}
    made = 0
    for event_id, role in seats:
        turns = line.get(role, [])
        at_event = serving.setdefault(event_id, set())
        for person_id in turns:
            if person_id not in at_event and place(event_id, person_id, role):
                break
        else:
            raise RuntimeError(f"nobody free for {role} at event {event_id}")
        turns.remove(person_id)
        turns.append(person_id)
        at_event.add(person_id)
        made += 1
    return made


# Someone away then (time off, availability) is refused a place: the next in turn is asked.
AWAY = {"person.on_time_off", "person.outside_availability"}


def fill_slots(client: httpx.Client, token: str) -> int:
    """Assign someone who holds the role and is there to every open slot, as the admin, through
    the API, in turns (`fill_in_turns`)."""
    events = get_json(client, f"/api/v1/events?limit={EVENTS}", token)["items"]
    people = get_json(client, "/api/v1/people?limit=500", token)["items"]
    line: dict[str, list[int]] = {}
    for person in people:
        for role in person["roles"]:
            line.setdefault(role, []).append(person["id"])

    def place(event_id: int, person_id: int, role: str) -> bool:
        response = client.post(
            f"/api/v1/events/{event_id}/assignments",
            json={"person_id": person_id, "role": role},
            headers=bearer(token),
        )
        if response.status_code == 201:
            return True
        if response.status_code == 409 and response.json().get("code") in AWAY:
            return False
        raise RuntimeError(f"assigning failed: {response.status_code} {response.text}")

    seats = [
        (event["id"], slot["role"])
        for event in events
        for slot in event["slots"]
        for _ in range(slot["open"])
    ]
    return fill_in_turns(seats, line, place)


def bench_endpoints(client: httpx.Client, token: str) -> list[Endpoint]:
    """The endpoints `make bench` measures (BENCH_ENDPOINTS, in that order), each checked to
    answer 200 with the rows it should."""
    first_event = get_json(client, "/api/v1/events?limit=1", token)["items"][0]
    candidates = [
        Endpoint("health", "/health", 0, authenticated=False),
        Endpoint("list events", f"/api/v1/events?limit={EVENTS}", EVENTS),
        Endpoint("list people", f"/api/v1/people?limit={PEOPLE}", PEOPLE),
        Endpoint(
            "event assignments",
            f"/api/v1/events/{first_event['id']}/assignments",
            len(first_event["slots"]),
        ),
        Endpoint("org assignments", f"/api/v1/assignments?limit={SLOTS}", SLOTS),
    ]
    assert tuple(e.name for e in candidates) == BENCH_ENDPOINTS
    for endpoint in candidates:
        body = get_json(client, endpoint.path, token)
        got = len(body["items"]) if "items" in body else 0
        if got != endpoint.rows:
            raise RuntimeError(f"{endpoint.path} returned {got} rows, expected {endpoint.rows}")
    return candidates
