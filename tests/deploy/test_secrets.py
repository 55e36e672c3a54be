"""deploy/secrets/create_secrets.py: the files compose.prod.yml reads, random, consistent with
each other, private (0600, owned by the reading container's user), one login per client, and
never overwritten unless rotated. (That PostgreSQL and Redis accept them and grant each client
what it needs and no more: tests/deploy/operated/test_least_privilege.py and tests/security/.)"""

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
    "migrate_database_url": 10001,
    "backup_database_url": 10001,
    "redis_url": 10001,
    "worker_redis_url": 10001,
    "postgres_password": 999,
    "postgres_roles": 999,
    "pgbackrest_cipher_pass": 999,
    "redis_acl": 999,
    "postgres_exporter_dsn": 65534,
    "redis_exporter_password": 59000,
    "prometheus_metrics_token": 65534,
}
# The same value twice, each copy owned by its reader.
COPIES = {"prometheus_metrics_token": "metrics_token"}
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
        assert f"{{SECRETS_DIR:-./secrets}}/{name}" in compose_files, name
    for value in read_all(directory).values():
        for line in value.splitlines():
            assert line not in result.stdout + result.stderr
    assert "back up off this host" in result.stdout


def production_settings(values: dict[str, str], **overrides: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        app_env="production",
        secret_key=values["secret_key"],
        allowed_hosts=["signup.example.org"],
        smtp_host="smtp.example.org",
        **overrides,
    )


def test_each_client_gets_its_own_login(tmp_path: Path, chown_option: list[str]) -> None:
    assert create(tmp_path, *chown_option).returncode == 0
    values = {name: text.strip() for name, text in read_all(tmp_path).items()}
    roles = {
        "database_url": "signupflow_app",
        "migrate_database_url": "signupflow_owner",
        "backup_database_url": "signupflow_backup",
    }
    passwords = set()
    for name, role in roles.items():
        url = urlsplit(values[name])
        assert (url.scheme, url.username, url.hostname, url.port, url.path) == (
            "postgresql+psycopg",
            role,
            "postgres",
            5432,
            "/signupflow",
        ), name
        passwords.add(url.password)
    dsn = urlsplit(values["postgres_exporter_dsn"])
    assert (dsn.scheme, dsn.username, dsn.query) == (
        "postgresql",
        "signupflow_monitor",
        "sslmode=disable",
    )
    passwords.add(dsn.password)
    # The database container gets verifiers, never a client's password.
    verifiers = dict(line.split(" ", 1) for line in values["postgres_roles"].splitlines())
    assert set(verifiers) == {*roles.values(), "signupflow_monitor"}
    assert all(v.startswith("SCRAM-SHA-256$4096:") for v in verifiers.values())
    for password in passwords:
        assert password
        assert password not in values["postgres_roles"]

    redis_users = {"redis_url": "app", "worker_redis_url": "worker"}
    redis_passwords = {values["redis_exporter_password"]: "monitor"}
    for name, user in redis_users.items():
        url = urlsplit(values[name])
        assert (url.scheme, url.username, url.hostname, url.port) == ("redis", user, "redis", 6379)
        redis_passwords[str(url.password)] = user
    acl = values["redis_acl"].splitlines()
    assert acl[0] == "user default on nopass resetkeys resetchannels -@all +ping"
    for password, user in redis_passwords.items():
        digest = hashlib.sha256(password.encode()).hexdigest()
        assert any(line.startswith(f"user {user} on #{digest} resetkeys ") for line in acl), user
        assert password not in values["redis_acl"]
    assert len(passwords | set(redis_passwords)) == 7

    app = production_settings(
        values,
        database_url=values["database_url"],
        redis_url=values["redis_url"],
        metrics_token=values["metrics_token"],
    )
    assert app.problems() == []
    worker = production_settings(
        values, database_url=values["database_url"], redis_url=values["worker_redis_url"]
    )
    assert worker.problems() == []
    for name in ("migrate_database_url", "backup_database_url"):
        # As compose.prod.yml runs them: a Redis URL without credentials (PING only).
        one_shot = production_settings(
            values, database_url=values[name], redis_url="redis://redis:6379/0"
        )
        assert one_shot.problems() == [], name


def test_every_run_makes_new_values(tmp_path: Path, chown_option: list[str]) -> None:
    assert create(tmp_path / "a", *chown_option).returncode == 0
    assert create(tmp_path / "b", *chown_option).returncode == 0
    first, second = read_all(tmp_path / "a"), read_all(tmp_path / "b")
    for name in FILES:
        assert first[name] != second[name], name
    assert len(set(first.values())) == len(first) - len(COPIES)


def test_each_copy_follows_its_original_also_when_it_is_rotated(
    tmp_path: Path, chown_option: list[str]
) -> None:
    assert create(tmp_path, *chown_option).returncode == 0
    before = read_all(tmp_path)
    rotated = create(tmp_path, *chown_option, "--rotate", "metrics_token")
    assert rotated.returncode == 0, rotated.stderr
    after = read_all(tmp_path)
    for copy, original in COPIES.items():
        assert before[copy] == before[original]
        assert after[copy] == after[original] != before[original]


def test_running_again_keeps_every_secret_and_adds_only_what_is_missing(
    tmp_path: Path, chown_option: list[str]
) -> None:
    assert create(tmp_path, *chown_option).returncode == 0
    before = read_all(tmp_path)
    again = create(tmp_path, *chown_option)
    assert again.returncode == 0, again.stderr
    assert "nothing written" in again.stdout
    assert read_all(tmp_path) == before

    (tmp_path / "worker_redis_url").unlink()
    (tmp_path / "postgres_roles").unlink()
    result = create(tmp_path, *chown_option)
    assert result.returncode == 0, result.stderr
    after = read_all(tmp_path)
    assert after["worker_redis_url"] != before["worker_redis_url"]
    # The derived files follow the credentials; every other secret is untouched.
    assert after["redis_acl"] != before["redis_acl"]
    changed = {name for name in FILES if after[name] != before[name]}
    assert changed == {"worker_redis_url", "redis_acl", "postgres_roles"}
    assert sorted(line.split(" ")[0] for line in after["postgres_roles"].splitlines()) == sorted(
        line.split(" ")[0] for line in before["postgres_roles"].splitlines()
    )


def test_rotate_replaces_one_credential_and_its_verifier(
    tmp_path: Path, chown_option: list[str]
) -> None:
    assert create(tmp_path, *chown_option).returncode == 0
    before = read_all(tmp_path)
    inodes = {path.name: path.stat().st_ino for path in tmp_path.iterdir()}
    result = create(tmp_path, "--rotate", "database_url", *chown_option)
    assert result.returncode == 0, result.stderr
    after = read_all(tmp_path)
    assert {name for name in FILES if after[name] != before[name]} == {
        "database_url",
        "postgres_roles",
    }
    old_lines, new_lines = (
        before["postgres_roles"].splitlines(),
        after["postgres_roles"].splitlines(),
    )
    assert [line.split(" ")[0] for line in new_lines if line not in old_lines] == ["signupflow_app"]
    # Rewritten in place: the running postgres container (a bind mount of the inode) sees it.
    assert {path.name: path.stat().st_ino for path in tmp_path.iterdir()} == inodes
    assert stat.S_IMODE((tmp_path / "database_url").stat().st_mode) == 0o600

    refused = create(tmp_path, "--rotate", "postgres_password", *chown_option)
    assert refused.returncode == 2
    assert "not a secret that can be rotated here" in refused.stderr
    assert read_all(tmp_path) == after


def test_an_older_layout_keeps_working_and_is_told_how_to_move_on(
    tmp_path: Path, chown_option: list[str]
) -> None:
    """Before the per-client logins, the app connected as the superuser and Redis user
    `signupflow`: those files stay (the running stack uses them) until rotated."""
    superuser_url = "postgresql+psycopg://signupflow:old-secret@postgres:5432/signupflow\n"
    (tmp_path / "database_url").write_text(superuser_url)
    (tmp_path / "redis_url").write_text("redis://signupflow:old-redis@redis:6379/0\n")
    result = create(tmp_path, *chown_option)
    assert result.returncode == 0, result.stderr
    assert "database_url logs in as signupflow, not signupflow_app" in result.stderr
    assert "--rotate database_url" in result.stderr
    assert "--rotate redis_url" in result.stderr
    values = read_all(tmp_path)
    assert values["database_url"] == superuser_url
    # The superuser's password is no verifier of signupflow_app's.
    assert "signupflow_app" not in values["postgres_roles"]
    digest = hashlib.sha256(b"old-redis").hexdigest()
    assert f"user signupflow on #{digest} resetkeys ~signupflow:rl:* " in values["redis_acl"]

    moved = create(tmp_path, "--rotate", "database_url", "--rotate", "redis_url", *chown_option)
    assert moved.returncode == 0, moved.stderr
    assert "warning" not in moved.stderr
    values = read_all(tmp_path)
    assert urlsplit(values["database_url"].strip()).username == "signupflow_app"
    assert "signupflow_app SCRAM-SHA-256$" in values["postgres_roles"]
    assert "user signupflow " not in values["redis_acl"]


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
