"""deploy/secrets/create_secrets.py: the files compose.prod.yml reads, random, consistent with
each other, private (0600, owned by the reading container's user) and never overwritten.
(That PostgreSQL, Redis and the app accept them is shown by test_compose.py's running stack.)"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.compose import PGBACKREST, PROD, SECRETS_SCRIPT
from harness.repository import readable_copy
from signupflow.settings import Settings

FILES = {
    "secret_key": 10001,
    "metrics_token": 10001,
    "database_url": 10001,
    "redis_url": 10001,
    "postgres_password": 999,
    "redis_acl": 999,
    "pgbackrest_cipher_pass": 999,
}
NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"


def create(
    directory: Path, *options: str, as_uid: int | None = None
) -> subprocess.CompletedProcess[str]:
    # Another user cannot run the venv's interpreter (it lives under /root here); the script
    # needs only the standard library, so the system's python3 serves as well. Nor can it
    # read the checkout in place (a clone in a 0700 directory): it runs a readable copy.
    python, script = sys.executable, SECRETS_SCRIPT
    if as_uid is not None:
        python = SYSTEM_PYTHON
        script = readable_copy(SECRETS_SCRIPT, Path(tempfile.mkdtemp(prefix="sf-secrets-")))
    return subprocess.run(
        [python, str(script), str(directory), *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        user=as_uid,
    )


def read_all(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in directory.iterdir()}


@pytest.fixture
def chown_option() -> list[str]:
    """As root the script hands each file to its container user; otherwise it may not."""
    return [] if os.geteuid() == 0 else ["--no-chown"]


def test_creates_every_secret_compose_reads_privately(
    tmp_path: Path, chown_option: list[str]
) -> None:
    directory = tmp_path / "secrets"
    result = create(directory, *chown_option)
    assert result.returncode == 0, result.stderr
    assert {path.name for path in directory.iterdir()} == set(FILES)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name, uid in FILES.items():
        info = (directory / name).stat()
        assert stat.S_IMODE(info.st_mode) == 0o600, name
        expected_owner = uid if not chown_option else os.geteuid()
        assert (info.st_uid, info.st_gid) == (expected_owner, expected_owner), name
    # Every file compose.prod.yml names exists, and no value is ever printed.
    compose_files = PROD.read_text() + PGBACKREST.read_text()
    for name in FILES:
        assert f"{{SECRETS_DIR:-./secrets}}/{name}" in compose_files
    for value in read_all(directory).values():
        for line in value.splitlines():
            assert line not in result.stdout + result.stderr


def test_values_are_consistent_and_acceptable_to_production(
    tmp_path: Path, chown_option: list[str]
) -> None:
    assert create(tmp_path, *chown_option).returncode == 0
    values = {name: text.strip() for name, text in read_all(tmp_path).items()}
    database = urlsplit(values["database_url"])
    assert database.scheme == "postgresql+psycopg"
    assert (database.username, database.hostname, database.port) == ("signupflow", "postgres", 5432)
    assert database.password == values["postgres_password"]
    assert database.path == "/signupflow"
    redis = urlsplit(values["redis_url"])
    assert (redis.scheme, redis.username, redis.hostname, redis.port) == (
        "redis",
        "signupflow",
        "redis",
        6379,
    )
    assert redis.password
    digest = hashlib.sha256(redis.password.encode()).hexdigest()
    acl = values["redis_acl"].splitlines()
    assert acl == [
        "user default on nopass resetkeys resetchannels -@all +ping",
        f"user signupflow on #{digest} resetkeys ~signupflow:* resetchannels +@all -@dangerous",
    ]
    assert redis.password not in values["redis_acl"]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        app_env="production",
        secret_key=values["secret_key"],
        database_url=values["database_url"],
        redis_url=values["redis_url"],
        metrics_token=values["metrics_token"],
        allowed_hosts=["signup.example.org"],
        smtp_host="smtp.example.org",
    )
    assert settings.problems() == []


def test_every_run_makes_new_values(tmp_path: Path, chown_option: list[str]) -> None:
    assert create(tmp_path / "a", *chown_option).returncode == 0
    assert create(tmp_path / "b", *chown_option).returncode == 0
    first, second = read_all(tmp_path / "a"), read_all(tmp_path / "b")
    for name in ("secret_key", "metrics_token", "postgres_password", "redis_url"):
        assert first[name] != second[name], name
    assert len(set(first.values())) == len(first)


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, chown_option: list[str]) -> None:
    (tmp_path / "postgres_password").write_text("the one the database was initialised with\n")
    result = create(tmp_path, *chown_option)
    assert result.returncode == 1
    assert "refusing to overwrite" in result.stderr
    assert "postgres_password" in result.stderr
    assert read_all(tmp_path) == {
        "postgres_password": "the one the database was initialised with\n"
    }


def test_refuses_to_leave_files_unreadable_by_the_containers_when_not_root(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "secrets"
    if os.geteuid() == 0:
        if not Path(SYSTEM_PYTHON).exists():
            pytest.skip(f"{SYSTEM_PYTHON} is needed to run the script as another user")
        result = create(directory, as_uid=NOBODY)
    else:
        result = create(directory)
    assert result.returncode == 2
    assert "run as root" in result.stderr
    assert not directory.exists()
