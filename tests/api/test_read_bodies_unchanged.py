"""Faster, not different: on the standard workload (shared notes, benchmarks.md), every read
`make bench` measures, and the detail and filtered reads beside them, answer this code's body
byte for byte as the code before issue #15 answers it (harness/baseline.py).

One organisation per pass is seeded in the suite's database (`seed_workload`, then its 200
slots filled through the API as `make bench` does); one of its volunteers accepts an
invitation, so the volunteer's view is compared too. The baseline runs as a real `signupflow
serve` process on the same database (migrated by this code) with the same secret key, and each
read is sent to both with the same token: this code in process, the baseline over HTTP.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from harness.app_server import AppServer, running_server
from harness.baseline import baseline_source, running_baseline_server
from harness.workload import (
    BENCH_ENDPOINTS,
    PASSWORD,
    SLOTS,
    AdminToken,
    bearer,
    bench_endpoints,
    fill_slots,
)
from signupflow.db.session import unit_of_work
from signupflow.demo import seed_workload
from signupflow.settings import Settings
from tests.factories import ok, unique

API = "/api/v1"
TOKEN_LIFETIME_S = 300  # longer than this module takes
CONTEXT_BYTES = 80

# The reads: `make bench`'s (by the name it prints) and, for each, what builds the same
# response shapes another way. `{...}` names come from `Workload.ids`.
ADMIN_READS = {
    "list events": None,  # the path is make bench's own
    "list people": None,
    "event assignments": None,
    "org assignments": None,
    "events, second page": f"{API}/events?limit=20&offset=20",
    "events in a range": f"{API}/events?from=2030-02-01T00:00:00Z&to=2030-03-01T00:00:00Z",
    "one event": f"{API}/events/{{event}}",
    "the last event's assignments": f"{API}/events/{{last_event}}/assignments",
    "people who can usher": f"{API}/people?role=usher&limit=100",
    "people found by name": f"{API}/people?q=Volunteer%2001",
    "people, third page": f"{API}/people?limit=50&offset=100",
    "one person": f"{API}/people/{{person}}",
    "one person's availability": f"{API}/people/{{person}}/availability",
    "one person's assignments": f"{API}/assignments?person_id={{person}}&limit=200",
    "assignments in a range": (
        f"{API}/assignments?from=2030-02-01T00:00:00Z&to=2030-03-01T00:00:00Z&limit=200"
    ),
    "assignments, second page": f"{API}/assignments?limit=50&offset=50",
    "the organisation": f"{API}/organisation",
    "me": f"{API}/me",
}
VOLUNTEER_READS = {
    "volunteer: list events": f"{API}/events?limit=50",
    "volunteer: one event": f"{API}/events/{{event}}",
    "volunteer: event assignments": f"{API}/events/{{event}}/assignments",
    "volunteer: own assignments": f"{API}/assignments?person_id={{person}}&limit=200",
    "volunteer: me": f"{API}/me",
}


@dataclass(frozen=True)
class Workload:
    admin_token: str
    volunteer_token: str
    paths: dict[str, str]  # read -> path, for every read of ADMIN_READS and VOLUNTEER_READS

    def token_for(self, read: str) -> str:
        return self.volunteer_token if read in VOLUNTEER_READS else self.admin_token


@pytest.fixture(scope="module")
def workload(client: TestClient, settings: Settings) -> Workload:
    slug = unique("bodies")
    admin_email = f"admin@{slug}.example.org"
    app: Any = client.app
    with unit_of_work(app.state.session_factory) as session:
        seeded = seed_workload(
            session, settings, slug=slug, admin_email=admin_email, password=PASSWORD
        )
    admin = AdminToken(client, email=admin_email, organisation=slug).valid_for(TOKEN_LIFETIME_S)
    assert fill_slots(client, admin) == SLOTS

    # Volunteer 001: on leave once, serving at several events, and now a member.
    person = seeded.person_ids[0]
    volunteer = ok(client.get(f"{API}/people/{person}", headers=bearer(admin)))
    invitation = ok(
        client.post(
            f"{API}/invitations",
            json={"email": volunteer["email"], "name": volunteer["name"], "roles": []},
            headers=bearer(admin),
        ),
        201,
    )
    assert invitation["person_id"] == person
    volunteer_token = ok(
        client.post(
            f"{API}/invitations/accept",
            json={"token": invitation["token"], "password": PASSWORD},
        )
    )["access_token"]

    bench = {e.name: e.path for e in bench_endpoints(client, admin) if e.name != "health"}
    ids = {"event": seeded.event_ids[0], "last_event": seeded.event_ids[-1], "person": person}
    paths = {
        read: bench[read] if path is None else path.format(**ids)
        for read, path in {**ADMIN_READS, **VOLUNTEER_READS}.items()
    }
    return Workload(admin, str(volunteer_token), paths)


@pytest.fixture(scope="module")
def baseline(
    client: TestClient,  # its start-up migrated the database, as a deploy's `db upgrade` does
    database_url: str,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    """The baseline's server on the suite's database, accepting this app's tokens."""
    with running_baseline_server(
        database_url,
        workdir=tmp_path_factory.mktemp("baseline"),
        extra_env={"SECRET_KEY": settings.secret_key.get_secret_value()},
    ) as server:
        yield server


@pytest.fixture(scope="module")
def baseline_client(baseline: AppServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=baseline.url, timeout=30) as baseline_http:
        yield baseline_http


# Fields added since the baseline, as every row of the workload writes them: the only bytes a
# body may have that the baseline's lacks (issue #16: the availability rule an admin overrode).
ADDED_SINCE_BASELINE = (b',"overridden_rule":null',)


def difference(new: httpx.Response, old: httpx.Response) -> str | None:
    """None when both answered 200 with the same bytes (but for ADDED_SINCE_BASELINE);
    otherwise what differs, with a little of each body around the first byte where they part."""
    path = new.request.url.path
    if new.status_code != 200 or old.status_code != 200:
        return f"{path}: {new.status_code} now, {old.status_code} before: {new.text[:300]}"
    a, b = new.content, old.content
    if "assignments" in path:  # the reads the added field belongs to, and only those
        for added in ADDED_SINCE_BASELINE:
            a = a.replace(added, b"")
    if a == b:
        return None
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(at - CONTEXT_BYTES, 0)
    return (
        f"{path}: {len(a)} bytes now, {len(b)} before; they part at byte {at}:\n"
        f"  now:    {a[start : at + CONTEXT_BYTES]!r}\n"
        f"  before: {b[start : at + CONTEXT_BYTES]!r}"
    )


def test_the_bench_reads_are_all_compared() -> None:
    """A read `make bench` adds is compared here too (harness/workload.py names them)."""
    assert set(BENCH_ENDPOINTS) - {"health"} <= ADMIN_READS.keys()


@pytest.mark.parametrize("read", [*ADMIN_READS, *VOLUNTEER_READS])
def test_read_body_is_byte_identical_to_the_baseline(
    read: str, workload: Workload, client: TestClient, baseline_client: httpx.Client
) -> None:
    path = workload.paths[read]
    headers = bearer(workload.token_for(read))

    new = client.get(path, headers=headers)
    old = baseline_client.get(path, headers=headers)

    assert difference(new, old) is None, difference(new, old)
    body = new.json()
    if "items" in body:  # a list compared empty would prove nothing
        assert body["items"], f"{path} listed nothing"


# The baseline's one line that writes an event's local start, and the same line gone wrong.
LOCAL_START = "starts_at_local=event.starts_at.astimezone(zone),"
LOCAL_START_IN_UTC = "starts_at_local=event.starts_at.astimezone(UTC),"


def test_a_body_built_another_way_fails_the_comparison(
    workload: Workload,
    client: TestClient,
    database_url: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """What the comparison catches, and proof that the server runs the code it is given: the
    baseline's code with an event's local start written in UTC, served the same way, answers
    other bytes for one event."""
    altered = tmp_path / "altered"
    shutil.copytree(
        baseline_source() / "src", altered / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    schemas = altered / "src" / "signupflow" / "events" / "schemas.py"
    assert LOCAL_START in schemas.read_text()
    schemas.write_text(schemas.read_text().replace(LOCAL_START, LOCAL_START_IN_UTC))
    path = workload.paths["one event"]
    headers = bearer(workload.admin_token)
    env = {"SECRET_KEY": settings.secret_key.get_secret_value(), "AUTO_MIGRATE": "false"}

    with (
        running_server(database_url, workdir=tmp_path, extra_env=env, source=altered) as server,
        httpx.Client(base_url=server.url, timeout=30) as altered_http,
    ):
        found = difference(
            client.get(path, headers=headers), altered_http.get(path, headers=headers)
        )

    assert found is not None
    assert '"starts_at_local":"2030-01-06T15:00:00Z"' in found, found
