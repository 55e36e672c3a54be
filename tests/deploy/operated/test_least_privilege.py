"""The production stack on a real Docker engine with one database role per client: the
postgres container's init created the roles from the secrets, `migrate` ran as the owner, the
running app connects as signupflow_app and cannot change the schema, no client connects as the
superuser, the roles command is idempotent in the running container, and a sign-up works end
to end through the edge."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from harness.compose import SECRETS_SCRIPT
from harness.docker import docker_cmd
from harness.stack import Load, ProductionStack, ReleaseImages
from tests.deploy.test_compose import BACKUP, config_of

ROLES_COMMAND = "/docker-entrypoint-initdb.d/20-signupflow-roles.sh"
# Run inside a replica with the replica's own secret: what its database role may do.
OLD_PASSWORD_PROBE = """
import sys
import psycopg
try:
    psycopg.connect(sys.argv[1].replace("+psycopg", ""), connect_timeout=5).close()
    print("ACCEPTED")
except psycopg.OperationalError as exc:
    print("refused", str(exc).strip().splitlines()[-1])
"""
PROBE = """
import sys
import psycopg
url = open("/run/secrets/database_url").read().strip().replace("+psycopg", "")
with psycopg.connect(url, autocommit=True) as conn:
    print("user", conn.execute("SELECT current_user").fetchone()[0])
    print("organisations", conn.execute("SELECT count(*) FROM organisations").fetchone()[0])
    for statement in sys.argv[1:]:
        try:
            conn.execute(statement)
            print("ALLOWED", statement)
        except psycopg.errors.InsufficientPrivilege as exc:
            print("refused", statement, "|", str(exc).splitlines()[0])
"""
SCHEMA_CHANGES = (
    "ALTER TABLE organisations ADD COLUMN intruder integer",
    "DROP TABLE audit_log",
    "TRUNCATE audit_log",
    "CREATE TABLE intruder (id integer)",
    "CREATE TEMPORARY TABLE intruder (id integer)",
)


# Which services may mount each credential (other services may be added; none of these).
MAY_MOUNT = {
    "postgres_password": {"postgres", "pgbackrest"},
    "pgbackrest_cipher_pass": {"postgres", "pgbackrest"},
    "postgres_roles": {"postgres"},
    "redis_acl": {"redis"},
    "database_url": {"app", "worker"},
    "migrate_database_url": {"migrate"},
    "backup_database_url": {"backup", "backup-drill"},
    "postgres_exporter_dsn": {"postgres-exporter"},
    "redis_url": {"app"},
    "worker_redis_url": {"worker"},
    "redis_exporter_password": {"redis-exporter"},
}
# What each of the app image's processes reads its database and Redis URLs from.
CREDENTIAL_FILES = {
    "app": ("/run/secrets/database_url", "/run/secrets/redis_url"),
    "worker": ("/run/secrets/database_url", "/run/secrets/worker_redis_url"),
    "migrate": ("/run/secrets/migrate_database_url", None),
    "backup": ("/run/secrets/backup_database_url", None),
    "backup-drill": ("/run/secrets/backup_database_url", None),
}


def credential_violations(config: dict[str, Any]) -> list[str]:
    """Every credential a service holds that is not its own."""
    found = []
    for service, spec in config["services"].items():
        for entry in spec.get("secrets") or []:
            name = entry["source"] if isinstance(entry, dict) else entry
            allowed = MAY_MOUNT.get(name)
            if allowed is not None and service not in allowed:
                found.append(f"{service} mounts {name}")
        if service in CREDENTIAL_FILES:
            env = spec.get("environment") or {}
            database, redis_file = CREDENTIAL_FILES[service]
            if env.get("DATABASE_URL_FILE") != database:
                found.append(f"{service} reads DATABASE_URL from {env.get('DATABASE_URL_FILE')}")
            if redis_file is None and (
                env.get("REDIS_URL_FILE") or "@" in env.get("REDIS_URL", "@")
            ):
                found.append(f"{service} gets Redis credentials it never uses")
            if redis_file is not None and env.get("REDIS_URL_FILE") != redis_file:
                found.append(f"{service} reads REDIS_URL from {env.get('REDIS_URL_FILE')}")
    return found


@pytest.mark.parametrize("combination", ["prod", "prod+pgbackrest"])
def test_each_service_gets_only_its_own_credentials(combination: str) -> None:
    config = config_of(combination, {"COMPOSE_PROFILES": "backup,drill"})
    assert set(CREDENTIAL_FILES) <= set(config["services"])
    assert credential_violations(config) == []


def test_the_credential_check_sees_a_service_with_another_s_credentials() -> None:
    config = config_of("prod", BACKUP)
    config["services"]["backup"]["secrets"].append({"source": "database_url"})
    config["services"]["migrate"]["environment"]["DATABASE_URL_FILE"] = "/run/secrets/database_url"
    config["services"]["worker"]["environment"]["REDIS_URL_FILE"] = "/run/secrets/redis_url"
    config["services"]["backup"]["environment"]["REDIS_URL"] = "redis://app:pw@redis:6379/0"
    assert set(credential_violations(config)) == {
        "migrate reads DATABASE_URL from /run/secrets/database_url",
        "worker reads REDIS_URL from /run/secrets/redis_url",
        "backup mounts database_url",
        "backup gets Redis credentials it never uses",
    }


def psql(stack: ProductionStack, query: str) -> list[str]:
    return stack.psql(query).splitlines()


def network_clients(stack: ProductionStack) -> set[str]:
    """The roles connected from other containers (app replicas, worker); not the health
    check's pg_isready, which connects over 127.0.0.1 inside the container."""
    return set(
        psql(
            stack,
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE client_addr IS NOT NULL AND client_addr <> '127.0.0.1'",
        )
    )


def test_the_running_app_uses_the_data_role_and_cannot_change_the_schema(
    stack: ProductionStack,
) -> None:
    Load(stack).sign_up()  # through the edge: sign-up, confirmation, first token
    replica = stack.running_replicas()[0]["Id"]
    probe = docker_cmd("exec", replica, "/opt/venv/bin/python", "-c", PROBE, *SCHEMA_CHANGES)
    lines = probe.stdout.splitlines()
    assert "user signupflow_app" in lines, probe.stdout
    assert int(lines[1].split()[1]) >= 1, probe.stdout  # the organisation signed up above
    refused = [line for line in lines if line.startswith("refused ")]
    assert len(refused) == len(SCHEMA_CHANGES), (replica, probe.stdout)
    assert not [line for line in lines if line.startswith("ALLOWED")]

    # `migrate` created every table as the owner; no client logs in as the superuser.
    assert psql(stack, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'") == [
        "signupflow_owner"
    ]
    # (The postgres-exporter, as signupflow_monitor, is connected only around its scrapes.)
    assert network_clients(stack) - {"signupflow_monitor"} == {"signupflow_app"}


def test_the_roles_command_runs_again_on_the_live_cluster(stack: ProductionStack) -> None:
    before = psql(stack, "SELECT relname, relowner::regrole, relacl FROM pg_class ORDER BY 1")
    result = stack.stack.compose("exec", "-T", "postgres", ROLES_COMMAND, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stderr
    assert psql(stack, "SELECT relname, relowner::regrole, relacl FROM pg_class ORDER BY 1") == (
        before
    )
    # The app still serves after it (its role, its password unchanged).
    status, _ = stack.get("/health/ready")
    assert status == 200


def test_rotating_the_app_password_takes_the_documented_three_commands(
    stack: ProductionStack, images: ReleaseImages
) -> None:
    """docs/security.md: --rotate, the roles command in the running postgres container, a
    deploy (which also runs `migrate` as the owner). The new replicas and the worker log in with
    the new password; the old one no longer works; sign-up through the edge still does."""
    secrets_dir = stack.workdir / "secrets"
    old_url = (secrets_dir / "database_url").read_text().strip()
    rotate = subprocess.run(
        [sys.executable, str(SECRETS_SCRIPT), str(secrets_dir), "--rotate", "database_url"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rotate.returncode == 0, rotate.stderr
    applied = stack.stack.compose("exec", "-T", "postgres", ROLES_COMMAND, check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    deploy = stack.run_deploy("deploy", images.v2, "--worker-image", images.v2)
    assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-3000:]

    Load(stack).sign_up()
    replica = stack.running_replicas()[0]["Id"]
    probe = docker_cmd("exec", replica, "/opt/venv/bin/python", "-c", PROBE)
    assert "user signupflow_app" in probe.stdout.splitlines(), probe.stdout
    old = docker_cmd("exec", replica, "/opt/venv/bin/python", "-c", OLD_PASSWORD_PROBE, old_url)
    assert "password authentication failed" in old.stdout, old.stdout
    worker = stack.containers("worker")[0]
    assert worker["State"]["Running"], worker["State"]
    # (The postgres-exporter, as signupflow_monitor, is connected only around its scrapes.)
    assert network_clients(stack) - {"signupflow_monitor"} == {"signupflow_app"}
