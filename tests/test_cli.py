"""The `signupflow` command as operators run it: real processes, a controlled environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.postgres import PostgresCluster
from signupflow.db.migrate import head_revision
from tests.support.settings import BACKEND

SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
STRONG_KEY = "9c1f6a0e4b7d2c58e3a19f0b6d4c7e2a5b8f1d3c6e9a0b2d4f6a8c0e1b3d5f7a"
DB_PASSWORD = "db-pa55word-Xq7"
REDIS_PASSWORD = "redis-pa55word-Zk2"
VALID_PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": STRONG_KEY,
    "DATABASE_URL": f"postgresql+psycopg://app:{DB_PASSWORD}@db.internal:5432/signupflow",
    "ALLOWED_HOSTS": "signupflow.example.org",
    "REDIS_URL": f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0",
    "SMTP_HOST": "smtp.example.org",
}
WEAK_KEY = "short-secret-Qw9"
BAD_PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": WEAK_KEY,
    "DATABASE_URL": f"mysql://app:{DB_PASSWORD}@db.internal/signupflow",
    "ALLOWED_HOSTS": "*",
    "DEBUG": "true",
    "BCRYPT_ROUNDS": "8",
}
BAD_VARIABLES = [
    "SECRET_KEY",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "REDIS_URL",
    "DEBUG",
    "BCRYPT_ROUNDS",
]


def environment(**variables: str) -> dict[str, str]:
    """Only what a process needs to run plus the variables under test: nothing inherited
    from whoever runs the suite can change the outcome."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **variables}


def signupflow(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SIGNUPFLOW), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if BACKEND == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database(f"cli_{uuid.uuid4().hex[:12]}")
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_serve_in_production_with_bad_values_exits_2_naming_each_before_listening(
    tmp_path: Path,
) -> None:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [str(SIGNUPFLOW), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment(**BAD_PRODUCTION),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    listened = False
    try:
        while process.poll() is None and time.monotonic() - started < 15:
            listened = listened or is_listening(port)
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
        stdout, stderr = process.communicate(timeout=10)
    elapsed = time.monotonic() - started

    assert process.returncode == 2, stderr
    assert elapsed < 10
    assert not listened
    assert not is_listening(port)
    for variable in BAD_VARIABLES:
        assert f"- {variable}:" in stderr
    assert "Uvicorn running" not in stdout + stderr
    assert WEAK_KEY not in stdout + stderr
    assert DB_PASSWORD not in stdout + stderr


def test_serve_with_an_unreadable_secret_file_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "secrets" / "secret_key"
    result = signupflow(
        "serve",
        "--port",
        str(free_port()),
        env=environment(**{**VALID_PRODUCTION, "SECRET_KEY_FILE": str(missing)}),
        cwd=tmp_path,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert f"SECRET_KEY_FILE: cannot read {missing}" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_check_prints_the_masked_configuration_and_exits_0_when_valid(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text(STRONG_KEY + "\n")
    variables = {k: v for k, v in VALID_PRODUCTION.items() if k != "SECRET_KEY"}
    result = signupflow(
        "config",
        "check",
        env=environment(**variables, SECRET_KEY_FILE=str(key_file)),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["APP_ENV"] == "production"
    assert shown["SECRET_KEY"] == "********"
    assert shown["DATABASE_URL"] == "postgresql+psycopg://app:********@db.internal:5432/signupflow"
    assert shown["REDIS_URL"] == "redis://:********@redis.internal:6379/0"
    assert shown["ALLOWED_HOSTS"] == ["signupflow.example.org"]
    for secret in (STRONG_KEY, DB_PASSWORD, REDIS_PASSWORD):
        assert secret not in result.stdout + result.stderr
    assert "valid for the production profile" in result.stderr


def test_config_check_exits_2_naming_every_bad_value_without_revealing_secrets(
    tmp_path: Path,
) -> None:
    result = signupflow("config", "check", env=environment(**BAD_PRODUCTION), cwd=tmp_path)
    assert result.returncode == 2
    assert json.loads(result.stdout)["SECRET_KEY"] == "********"
    for variable in BAD_VARIABLES:
        assert f"- {variable}:" in result.stderr
    assert WEAK_KEY not in result.stdout + result.stderr
    assert DB_PASSWORD not in result.stdout + result.stderr


def test_config_check_exits_2_when_a_value_does_not_parse(tmp_path: Path) -> None:
    result = signupflow(
        "config", "check", env=environment(BCRYPT_ROUNDS="many", APP_ENV="prod"), cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "- BCRYPT_ROUNDS:" in result.stderr
    assert "- APP_ENV:" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_brings_a_fresh_database_to_head(
    fresh_database_url: str, tmp_path: Path
) -> None:
    env = environment(DATABASE_URL=fresh_database_url, APP_ENV="test")
    head = head_revision()
    assert head is not None

    behind = signupflow("db", "current", env=env, cwd=tmp_path)
    assert behind.returncode == 1, behind.stderr
    assert behind.stdout.split() == ["applied:", "None", "head:", head]

    upgraded = signupflow("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"database at revision {head}"

    current = signupflow("db", "current", env=env, cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    assert current.stdout.split() == ["applied:", head, "head:", head]

    again = signupflow("db", "upgrade", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_db_upgrade_refuses_an_invalid_production_configuration(tmp_path: Path) -> None:
    result = signupflow("db", "upgrade", env=environment(**BAD_PRODUCTION), cwd=tmp_path)
    assert result.returncode == 2
    for variable in BAD_VARIABLES:
        assert f"- {variable}:" in result.stderr
