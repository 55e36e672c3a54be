"""The Redis ACL that deploy/secrets/create_secrets.py writes, loaded by a real redis-server:
each client's user can do what that client does (the app's shared store, the worker's start,
the real redis_exporter's scrape) and nothing more."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from harness.compose import create_secrets
from harness.ports import free_port
from signupflow.state.gcra import Budget
from signupflow.state.store import RedisStore
from tests.support.redis_server import RedisServer
from tests.support.services import require_service, started_redis

REDIS_EXPORTER = "prometheus-redis-exporter"
SCRAPE_TIMEOUT_S = 20


@pytest.fixture(scope="module")
def secrets_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="sf-acl-")) / "secrets"
    create_secrets(directory, chown=False)
    return directory


@pytest.fixture(scope="module")
def server(secrets_dir: Path) -> Iterator[RedisServer]:
    yield from started_redis(secrets_dir / "redis_acl")


def client_url(secrets_dir: Path, name: str, server: RedisServer) -> str:
    """The URL the secret holds, pointed at the test server instead of host `redis`."""
    url = urlsplit((secrets_dir / name).read_text().strip())
    return url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{server.port}").geturl()


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2)


def assert_refused(client: redis.Redis, *command: str) -> None:
    """NOPERM, or from inside a script the error Redis gives for a command the ACL denies."""
    with pytest.raises(redis.exceptions.ResponseError) as refusal:
        client.execute_command(*command)
    assert isinstance(refusal.value, redis.exceptions.NoPermissionError) or (
        "can't run this command" in str(refusal.value)
    ), refusal.value


def test_the_app_user_runs_the_shared_store(secrets_dir: Path, server: RedisServer) -> None:
    store = RedisStore(client_url(secrets_dir, "redis_url", server))
    try:
        store.ping()
        budget = Budget(limit=2)
        waits = [store.take("rl:signup:203.0.113.9", budget) for _ in range(3)]
        assert waits[:2] == [0, 0]
        assert waits[2] > 0
        store.mark("revoked:family-1", ttl_s=60)
        assert store.is_marked("revoked:family-1")
        assert not store.is_marked("revoked:family-2")
    finally:
        store.close()


@pytest.mark.parametrize(
    "command",
    [
        ("GET", "other:key"),
        ("SET", "signupflow:elsewhere", "1"),
        ("KEYS", "*"),
        ("SCAN", "0"),
        ("DEL", "signupflow:rl:x"),
        ("FLUSHALL",),
        ("CONFIG", "GET", "*"),
        ("CONFIG", "SET", "appendonly", "no"),
        ("ACL", "LIST"),
        ("SCRIPT", "FLUSH"),
        ("EVAL", "return redis.call('GET', KEYS[1])", "1", "other:key"),
        ("EVAL", "return redis.call('FLUSHALL')", "0"),
        ("SUBSCRIBE", "channel"),
        ("INFO",),
        ("CLIENT", "LIST"),
        ("SELECT", "1"),
    ],
)
def test_the_app_user_can_do_nothing_else(
    secrets_dir: Path, server: RedisServer, command: tuple[str, ...]
) -> None:
    client = connect(client_url(secrets_dir, "redis_url", server))
    try:
        assert_refused(client, *command)
    finally:
        client.close()


def test_the_worker_user_may_only_ping(secrets_dir: Path, server: RedisServer) -> None:
    client = connect(client_url(secrets_dir, "worker_redis_url", server))
    try:
        assert client.ping()
        for command in (("GET", "signupflow:rl:x"), ("SET", "x", "1"), ("INFO",)):
            assert_refused(client, *command)
    finally:
        client.close()


def test_unauthenticated_clients_may_only_ping(server: RedisServer) -> None:
    """The container's health check; and the URL migrate and backup name to start."""
    client = connect(server.url)
    try:
        assert client.ping()
        for command in (("GET", "signupflow:rl:x"), ("INFO",), ("CONFIG", "GET", "*")):
            assert_refused(client, *command)
    finally:
        client.close()


def test_a_wrong_password_is_refused(secrets_dir: Path, server: RedisServer) -> None:
    url = urlsplit(client_url(secrets_dir, "redis_url", server))
    wrong = url._replace(netloc=f"app:not-it@127.0.0.1:{server.port}").geturl()
    client = connect(wrong)
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            client.ping()
    finally:
        client.close()


def scrape(port: int) -> str:
    deadline = time.monotonic() + SCRAPE_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def exporter_metrics(redis_port: int, *credentials: str) -> tuple[set[str], str, str]:
    """One scrape of the real redis_exporter: (series names, the page, the exporter's log)."""
    binary = shutil.which(REDIS_EXPORTER)
    if binary is None:
        require_service(f"{REDIS_EXPORTER} is not installed (apt-get install {REDIS_EXPORTER})")
    assert binary is not None
    port = free_port()
    exporter = subprocess.Popen(
        [
            binary,
            f"-redis.addr=redis://127.0.0.1:{redis_port}",
            *credentials,
            f"-web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = scrape(port)
    finally:
        exporter.terminate()
        log, _ = exporter.communicate(timeout=10)
    names = {
        line.split("{")[0].split(" ")[0] for line in page.splitlines() if line.startswith("redis_")
    }
    return names, page, log


def test_the_monitor_user_serves_redis_exporter_and_reads_no_data(
    secrets_dir: Path, server: RedisServer
) -> None:
    password = (secrets_dir / "redis_exporter_password").read_text().strip()
    names, page, log = exporter_metrics(
        server.port, "-redis.user=monitor", f"-redis.password={password}"
    )
    assert "\nredis_up 1\n" in page, log
    assert '\nredis_exporter_last_scrape_error{err=""} 0\n' in page, log
    assert "NOPERM" not in log
    assert "level=error" not in log
    # Everything the exporter reports for a user allowed everything, it reports for `monitor`.
    for unrestricted in started_redis():
        everything, _, _ = exporter_metrics(unrestricted.port)
    assert everything - names == set()
    assert "redis_config_maxmemory" in names
    assert "redis_slowlog_length" in names

    client = connect(f"redis://monitor:{password}@127.0.0.1:{server.port}/0")
    try:
        for command in (
            ("GET", "signupflow:revoked:x"),
            ("SET", "x", "1"),
            ("KEYS", "*"),
            ("CONFIG", "SET", "maxmemory", "1"),
            ("FLUSHALL",),
            ("CLIENT", "KILL", "127.0.0.1:1"),
        ):
            assert_refused(client, *command)
    finally:
        client.close()


def test_the_checks_above_see_a_user_with_too_much(tmp_path: Path) -> None:
    """The former single user (+@all -@dangerous on signupflow:*) passes none of the app's
    refusals that matter: the checks tell the two apart."""
    acl = tmp_path / "redis_acl"
    acl.write_text(
        "user default on nopass resetkeys resetchannels -@all +ping\n"
        "user signupflow on >old resetkeys ~signupflow:* resetchannels +@all -@dangerous\n"
    )
    for old in started_redis(acl):
        client = connect(f"redis://signupflow:old@127.0.0.1:{old.port}/0")
        try:
            client.execute_command("SET", "signupflow:elsewhere", "1")
            client.execute_command("DEL", "signupflow:elsewhere")
            client.execute_command("SCAN", "0")
        finally:
            client.close()
