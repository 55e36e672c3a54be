"""N-1: during a rolling deploy the previous release keeps serving on the schema the new
release migrated to. Its own code (tests/support/previous_release.py says which commit), as a
real server process, drives its main read and write paths against a database at the new head;
then the new release reads what it wrote. docs/migrations.md explains the rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from harness.ports import free_port
from harness.postgres import PostgresCluster
from harness.processes import stop_process
from harness.workload import ADMIN_EMAIL, SLUG, seed
from harness.workload import PASSWORD as WORKLOAD_PASSWORD
from signupflow.app import create_app
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from tests.support.previous_release import (
    PreviousRelease,
    PreviousReleaseUnavailable,
    extract_previous_release,
    previous_release_commit,
)
from tests.support.services import require_service
from tests.support.settings import BACKEND, make_settings
from tests.support.signup import mailed_signup_token_in, signup_body

API = "/api/v1"
PASSWORD = "correct horse battery"
RUN_OLD_CLI = "from signupflow.cli.main import cli; cli()"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> PreviousRelease:
    if BACKEND != "postgresql":
        pytest.skip("PostgreSQL only: production's database, where rolling deploys happen")
    try:
        return extract_previous_release(tmp_path_factory.mktemp("previous-release"))
    except PreviousReleaseUnavailable as error:
        require_service(f"the previous release cannot be named: {error}")
        raise


@pytest.fixture(scope="module")
def new_schema_url(previous_release: PreviousRelease, pg_cluster: PostgresCluster) -> str:
    url = pg_cluster.create_database(f"n_minus_1_{uuid.uuid4().hex[:12]}")
    engine = make_engine(make_settings(url))
    try:
        migrate.upgrade(engine)  # this release's head: the expand step a deploy runs first
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
    return url


def old_release_env(release: PreviousRelease, database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("APP_", "DATABASE_", "REDIS_", "SECRET_", "PYTHON", "CI"))
    }
    env.update(
        {
            "PYTHONPATH": str(release.src),  # the old package, not this checkout's
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            # As in production: the app never migrates; `signupflow db upgrade` of the new
            # release already ran, to a head the old code does not know.
            "AUTO_MIGRATE": "false",
            "LOAD_DEMO": "false",
            "BCRYPT_ROUNDS": "4",
            "SIGNUP_REQUESTS_PER_MINUTE": "10000",
            "LOGIN_ATTEMPTS_PER_MINUTE": "10000",
            "ORG_SOLVES_PER_MINUTE": "10000",
            "SOLVER_IN_WORKER": "false",
            "SOLVER_TIME_LIMIT_S": "2",
        }
    )
    return env


@dataclass
class OldServer:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@contextmanager
def running_old_release(
    release: PreviousRelease, database_url: str, log: Path
) -> Iterator[OldServer]:
    """`signupflow serve` of the previous release's code, on `database_url`."""
    env = old_release_env(release, database_url)
    imported = subprocess.run(
        [sys.executable, "-c", "import signupflow; print(signupflow.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert Path(imported).is_relative_to(release.src), imported

    port = free_port()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-c", RUN_OLD_CLI, "serve", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=release.src.parent,
        )
    server = OldServer(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the old release exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, (
                f"no answer from the old release:\n{log.read_text()}"
            )
            try:
                httpx.get(f"{server.url}/health/live", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield server
    finally:
        stop_process(process, timeout_s=30)


@pytest.fixture(scope="module")
def old_server(
    previous_release: PreviousRelease, new_schema_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OldServer]:
    log = tmp_path_factory.mktemp("old-server") / "server.log"
    with running_old_release(previous_release, new_schema_url, log) as server:
        yield server


@pytest.fixture
def clients(old_server: OldServer) -> Iterator[Callable[..., httpx.Client]]:
    """Clients of the old server, closed after the test."""
    opened: list[httpx.Client] = []

    def client(**kwargs: Any) -> httpx.Client:
        opened.append(httpx.Client(base_url=old_server.url, timeout=30, **kwargs))
        return opened[-1]

    yield client
    for each in opened:
        each.close()


def sign_up(client: httpx.Client, database_url: str, slug: str, email: str) -> dict[str, Any]:
    """Either spelling of sign-up: at once (201, before 0006), or confirmed by the mailed link
    (202, then the token from the outbox)."""
    started = client.post(f"{API}/auth/signup", json=signup_body(slug, email, PASSWORD))
    if started.status_code == 201:
        tokens: dict[str, Any] = started.json()
        return tokens
    ok(started, 202)
    token = mailed_signup_token_in(database_url, email)
    tokens = ok(client.post(f"{API}/auth/signup/confirm", json={"token": token}), 201)
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_previous_release_reads_and_writes_on_the_new_schema(
    previous_release: PreviousRelease,
    new_schema_url: str,
    old_server: OldServer,
    clients: Callable[..., httpx.Client],
) -> None:
    # The old code does not know the newest migration: the database is ahead of it.
    assert not (previous_release.src.parent / previous_release.newest_migration).exists()
    old = clients()
    slug = f"n1-{uuid.uuid4().hex[:8]}"
    email = f"admin@{slug}.example.org"

    # It serves on a schema newer than its own: readiness accepts an unknown, newer head.
    assert ok(old.get("/health/ready"))["status"] == "ready"

    admin = sign_up(old, new_schema_url, slug, email)
    old.headers.update(bearer(admin))
    assert ok(old.get(f"{API}/organisation"))["slug"] == slug
    ok(old.get(f"{API}/me"))

    people = [
        ok(
            old.post(
                f"{API}/people",
                json={
                    "name": f"Volunteer {n}",
                    "email": f"v{n}@{slug}.example.org",
                    "roles": ["usher"],
                },
            ),
            201,
        )
        for n in range(3)
    ]
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)

    def event(title: str, day: int) -> Any:
        begins = starts + timedelta(days=day)
        body = {
            "title": title,
            "starts_at": begins.isoformat(),
            "ends_at": (begins + timedelta(hours=2)).isoformat(),
            "status": "published",
            "slots": [{"role": "usher", "capacity": 2}],
        }
        return ok(old.post(f"{API}/events", json=body), 201)

    assigned, solved = event("Assigned by hand", 0), event("Filled by the solver", 1)

    invitation = ok(
        old.post(
            f"{API}/invitations",
            json={"email": f"member@{slug}.example.org", "name": "Member", "roles": ["usher"]},
        ),
        201,
    )
    member_tokens = ok(
        old.post(
            f"{API}/invitations/accept",
            json={"token": invitation["token"], "password": PASSWORD},
            headers={"Authorization": ""},
        )
    )
    member = clients(headers=bearer(member_tokens))
    signed_up = ok(
        member.post(f"{API}/events/{assigned['id']}/signups", json={"role": "usher"}), 201
    )
    placed = ok(
        old.post(
            f"{API}/events/{assigned['id']}/assignments",
            json={"person_id": people[0]["id"], "role": "usher"},
        ),
        201,
    )

    listed = ok(old.get(f"{API}/events/{assigned['id']}/assignments"))["items"]
    assert {a["id"] for a in listed} == {signed_up["id"], placed["id"]}
    assert {e["id"] for e in ok(old.get(f"{API}/events"))["items"]} >= {
        assigned["id"],
        solved["id"],
    }
    assert {p["id"] for p in people} <= {p["id"] for p in ok(old.get(f"{API}/people"))["items"]}
    own = {"person_id": ok(member.get(f"{API}/me"))["person"]["id"]}
    assert [a["id"] for a in ok(member.get(f"{API}/assignments", params=own))["items"]] == [
        signed_up["id"]
    ]

    draft = ok(
        old.post(
            f"{API}/schedules/solve",
            json={
                "starts_at": (starts + timedelta(days=1)).isoformat(),
                "ends_at": (starts + timedelta(days=2)).isoformat(),
            },
        ),
        201,
    )
    assert draft["status"] == "draft", draft
    ok(old.get(f"{API}/schedules/{draft['id']}"))
    ok(old.post(f"{API}/schedules/{draft['id']}/publish"))
    filled = ok(old.get(f"{API}/events/{solved['id']}/assignments"))["items"]
    assert len(filled) == 2, filled

    # The new release, serving beside it, reads what the old one wrote.
    new_app = create_app(make_settings(new_schema_url, auto_migrate=False))
    with TestClient(new_app, raise_server_exceptions=False) as new:
        tokens = ok(new.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD}))
        headers = bearer(tokens)
        assert (
            len(ok(new.get(f"{API}/events/{assigned['id']}/assignments", headers=headers))["items"])
            == 2
        )
        assert (
            len(ok(new.get(f"{API}/events/{solved['id']}/assignments", headers=headers))["items"])
            == 2
        )
        assert (
            ok(new.get(f"{API}/schedules/{draft['id']}", headers=headers))["status"] == "published"
        )

    log = old_server.log.read_text(errors="replace")
    assert "Traceback" not in log, log


def test_a_schema_that_breaks_the_previous_release_fails_this_test(
    previous_release: PreviousRelease, pg_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """What the test above guards against: a contract step shipped one release too early (a
    column the previous release still reads, renamed). The old release's read fails."""
    url = pg_cluster.create_database(f"n_minus_1_broken_{uuid.uuid4().hex[:12]}")
    seed(url)  # migrated, and an organisation with its people
    engine = make_engine(make_settings(url))
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE people RENAME COLUMN email TO email_address"))
    finally:
        engine.dispose()

    with (
        running_old_release(previous_release, url, tmp_path / "server.log") as server,
        httpx.Client(base_url=server.url, timeout=30) as old,
    ):
        login = {"email": ADMIN_EMAIL, "password": WORKLOAD_PASSWORD, "organisation": SLUG}
        headers = bearer(ok(old.post(f"{API}/auth/login", json=login)))
        refused = old.get(f"{API}/people", headers=headers)

    assert refused.status_code == 500, refused.text
    entries = [json.loads(line) for line in server.log.read_text().splitlines()]
    logged = " ".join(str(value) for entry in entries for value in entry.values())
    assert "column people.email does not exist" in logged, logged


MIGRATION = "src/signupflow/db/migrations/versions/0002_next.py"


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit_file(repo: Path, path: str, message: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(message)
    git(repo, "add", path)
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """main: release, then a branch adding the newest migration merged, then more work."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_file(repo, "src/app.py", "the release before the migration")
    git(repo, "checkout", "-qb", "feature")
    commit_file(repo, MIGRATION, "the migration")
    git(repo, "checkout", "-q", "main")
    commit_file(repo, "src/other.py", "meanwhile on main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    commit_file(repo, "src/app.py", "after the merge")
    return repo


def test_previous_release_is_main_just_before_the_newest_migration_arrived(history: Path) -> None:
    before_merge = git(history, "rev-parse", "HEAD~1^1")

    commit, path = previous_release_commit(history, MIGRATION)

    assert (commit, path) == (before_merge, MIGRATION)
    assert git(history, "log", "-1", "--format=%s", commit) == "meanwhile on main"


def test_previous_release_of_an_uncommitted_migration_is_head(history: Path) -> None:
    newest = "src/signupflow/db/migrations/versions/0003_work_in_progress.py"
    (history / newest).write_text("not committed yet")

    assert previous_release_commit(history, newest) == (git(history, "rev-parse", "HEAD"), newest)


def test_a_shallow_checkout_cannot_name_the_previous_release(history: Path, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{history}", str(shallow))

    with pytest.raises(PreviousReleaseUnavailable, match="fetch-depth: 0"):
        previous_release_commit(shallow, MIGRATION)
