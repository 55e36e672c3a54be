"""deploy/postgres/initdb.d/20-signupflow-roles.sh on a real PostgreSQL, with the secrets that
deploy/secrets/create_secrets.py makes: each role logs in with its own password (SCRAM, checked
by the server) and can do what its client does and nothing more; the script is idempotent and
brings a cluster created before the roles (everything owned by the superuser) into line."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from harness.compose import create_secrets
from harness.postgres import PostgresCluster
from harness.repository import REPO
from signupflow.backup import postgres as backup_postgres
from signupflow.db import migrate
from signupflow.db.models import Base
from tests.support.services import started_cluster

ROLES_SCRIPT = REPO / "deploy" / "postgres" / "initdb.d" / "20-signupflow-roles.sh"
DATABASE = "signupflow"
# What the API tests below exercise: every table the app writes (checked after the run).
API_TESTS = [
    "tests/api/test_smoke.py",
    "tests/api/test_auth.py",
    "tests/api/test_signup.py",
    "tests/api/test_invitations_and_signups.py",
    "tests/api/test_password_reset.py",
    "tests/api/test_people_csv.py",
    "tests/api/test_teams_and_availability.py",
    "tests/api/test_recurrence.py",
    "tests/api/test_waitlist.py",
    "tests/api/test_swaps.py",
    "tests/api/test_calendar.py",
    "tests/api/test_schedules.py",
]
API_RUN_TIMEOUT_S = 900
# How PostgreSQL words a refusal for lack of a privilege, ownership or superuser.
REFUSALS = ("permission denied", "must be owner", "must be superuser")


@dataclass(frozen=True)
class Secrets:
    directory: Path

    def url(self, name: str, cluster: PostgresCluster, database: str = DATABASE) -> str:
        """The URL the secret holds, pointed at the test cluster instead of host `postgres`."""
        raw = (self.directory / name).read_text().strip()
        url = make_url(raw.replace("postgresql://", "postgresql+psycopg://", 1))
        url = url.set(host="127.0.0.1", port=cluster.port, database=database, query={})
        return url.render_as_string(hide_password=False)

    def libpq(self, name: str, cluster: PostgresCluster, database: str = DATABASE) -> str:
        return self.url(name, cluster, database).replace("postgresql+psycopg://", "postgresql://")


def make_secrets() -> Secrets:
    directory = Path(tempfile.mkdtemp(prefix="sf-roles-")) / "secrets"
    create_secrets(directory, chown=False)
    return Secrets(directory)


def apply_roles(
    cluster: PostgresCluster, roles_file: Path, database: str = DATABASE
) -> subprocess.CompletedProcess[str]:
    """As the entrypoint and `docker compose exec postgres ...` run it: the superuser, psql."""
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": database,
        "SIGNUPFLOW_ROLES_FILE": str(roles_file),
    }
    return subprocess.run(
        ["bash", str(ROLES_SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )


def require_passwords(cluster: PostgresCluster) -> None:
    """Trust for the superuser (the tests' own access), SCRAM for every other login, as in
    the container (its pg_hba asks every TCP client for a password)."""
    (cluster.data_dir / "pg_hba.conf").write_text(
        "host all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    )
    with psycopg.connect(cluster.url(driver="postgresql"), autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")


def superuser(cluster: PostgresCluster, database: str = DATABASE) -> psycopg.Connection:
    return psycopg.connect(cluster.url(database, driver="postgresql"), autocommit=True)


def denied(url: str, statement: str) -> str:
    """The error PostgreSQL gives `statement` run by the URL's role ('' if it succeeded)."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            return str(exc)
    return ""


def assert_refused(url: str, *statements: str) -> None:
    """PostgreSQL refuses each statement to the URL's role for want of a privilege, ownership
    or superuser (not for any other error)."""
    for statement in statements:
        error = denied(url, statement)
        assert any(refusal in error for refusal in REFUSALS), (statement, error)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    for started in started_cluster():
        require_passwords(started)
        yield started


@pytest.fixture(scope="module")
def secrets() -> Secrets:
    return make_secrets()


@pytest.fixture(scope="module")
def migrated(cluster: PostgresCluster, secrets: Secrets) -> PostgresCluster:
    """A new deployment: the roles from the container's init, then `migrate` as the owner."""
    with superuser(cluster, "postgres") as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    result = apply_roles(cluster, secrets.directory / "postgres_roles")
    assert result.returncode == 0, result.stderr
    engine = create_engine(secrets.url("migrate_database_url", cluster))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return cluster


def test_each_role_logs_in_with_its_own_password_only(
    migrated: PostgresCluster, secrets: Secrets
) -> None:
    logins = {
        "database_url": "signupflow_app",
        "migrate_database_url": "signupflow_owner",
        "backup_database_url": "signupflow_backup",
        "postgres_exporter_dsn": "signupflow_monitor",
    }
    for name, role in logins.items():
        with psycopg.connect(secrets.libpq(name, migrated)) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (role,)
    wrong = make_url(secrets.libpq("database_url", migrated)).set(password="not-it")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong.render_as_string(hide_password=False)).close()
    with superuser(migrated) as conn:
        attributes = {
            name: tuple(flags)
            for name, *flags in conn.execute(
                "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls"
                " FROM pg_roles WHERE rolname LIKE 'signupflow_%'"
            ).fetchall()
        }
    assert attributes == {
        "signupflow_owner": (False, True, False, False),
        "signupflow_app": (False, False, False, False),
        "signupflow_backup": (False, True, False, False),
        "signupflow_monitor": (False, False, False, False),
    }


def test_the_app_role_serves_the_api_tests_and_writes_every_table(
    migrated: PostgresCluster, secrets: Secrets
) -> None:
    """The API tests, run as they are, against a database the owner migrated, connected as
    signupflow_app (their app migrates at start: at head there is nothing to do)."""
    env = {
        **os.environ,
        "TEST_DATABASE": "postgresql",
        "TEST_POSTGRES_URL": secrets.url("database_url", migrated),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *API_TESTS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=API_RUN_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    with superuser(migrated) as conn:
        written = dict(
            conn.execute("SELECT relname, n_tup_ins FROM pg_stat_user_tables").fetchall()
        )
        owners = set(
            conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall()
        )
    assert owners == {("signupflow_owner",)}
    unwritten = sorted(name for name in Base.metadata.tables if not written.get(name))
    assert unwritten == [], "tables the API run never wrote as signupflow_app"


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (id int)",
        "CREATE TEMPORARY TABLE intruder (id int)",
        "ALTER TABLE organisations ADD COLUMN intruder int",
        "DROP TABLE audit_log",
        "TRUNCATE audit_log",
        "CREATE INDEX intruder ON organisations (name)",
        "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE SCHEMA intruder",
        "CREATE DATABASE intruder",
        "ALTER ROLE signupflow_app SUPERUSER",
    ],
)
def test_the_app_role_cannot_change_the_schema(
    migrated: PostgresCluster, secrets: Secrets, statement: str
) -> None:
    assert_refused(secrets.libpq("database_url", migrated), statement)


def test_the_backup_role_dumps_everything_and_writes_nothing(
    migrated: PostgresCluster, secrets: Secrets, tmp_path: Path
) -> None:
    url = secrets.url("backup_database_url", migrated)
    database = backup_postgres.Database.from_url(url)
    dump = tmp_path / "signupflow.dump"
    with backup_postgres.snapshot(database) as (_, snapshot_id):
        backup_postgres.dump(database, dump, snapshot_id=snapshot_id)
    assert dump.stat().st_size > 0
    # `backup verify` restores into a scratch database of its own: CREATEDB, nothing more.
    scratch = database.sibling("signupflow_verify_scratch")
    scratch.create()
    try:
        backup_postgres.restore(scratch, dump, clean=False)
        with psycopg.connect(secrets.libpq("backup_database_url", migrated, scratch.name)) as c:
            assert c.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    finally:
        scratch.drop()
    assert_refused(
        secrets.libpq("backup_database_url", migrated),
        "INSERT INTO audit_log DEFAULT VALUES",
        "UPDATE organisations SET name = name",
        "DELETE FROM users",
        "CREATE TABLE intruder (id int)",
        "TRUNCATE audit_log",
        f'DROP DATABASE "{DATABASE}"',
    )


def test_the_monitor_role_sees_statistics_not_data(
    migrated: PostgresCluster, secrets: Secrets
) -> None:
    """pg_monitor shows every session's query, which other roles see as hidden."""

    def seen_by(name: str, pid: int) -> str:
        with psycopg.connect(secrets.libpq(name, migrated)) as conn:
            row = conn.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
            return str(row.fetchone()[0])  # type: ignore[index]

    with superuser(migrated) as other:
        other.execute("SELECT 'watched'")
        pid = other.info.backend_pid
        assert seen_by("postgres_exporter_dsn", pid) == "SELECT 'watched'"
        assert seen_by("database_url", pid) == "<insufficient privilege>"
    assert_refused(
        secrets.libpq("postgres_exporter_dsn", migrated),
        "SELECT * FROM public.users",
        "INSERT INTO public.audit_log DEFAULT VALUES",
    )


def test_the_owner_migrates_but_is_no_superuser(
    migrated: PostgresCluster, secrets: Secrets
) -> None:
    engine = create_engine(secrets.url("migrate_database_url", migrated))
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        # Down one revision and up again: DDL on the tables it owns.
        with engine.connect() as conn:
            command.downgrade(migrate.alembic_config(conn), "-1")
            conn.commit()
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == before
    finally:
        engine.dispose()
    assert_refused(
        secrets.libpq("migrate_database_url", migrated),
        "ALTER ROLE signupflow_app SUPERUSER",
        "CREATE ROLE intruder",
        "COPY audit_log FROM PROGRAM 'true'",
        "SELECT pg_read_file('/etc/passwd')",
    )


def privileges(cluster: PostgresCluster, database: str) -> list[tuple[object, ...]]:
    """Owners and grants of everything the script touches."""
    with superuser(cluster, database) as conn:
        return [
            *conn.execute(
                "SELECT c.relname, c.relkind, c.relowner::regrole::text, c.relacl::text"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' ORDER BY 1"
            ).fetchall(),
            *conn.execute(
                "SELECT defaclrole::regrole::text, defaclobjtype, defaclacl::text"
                " FROM pg_default_acl ORDER BY 1, 2"
            ).fetchall(),
            *conn.execute(
                "SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname = 'public'"
            ).fetchall(),
            *conn.execute(
                "SELECT datname, datacl::text FROM pg_database WHERE datname = current_database()"
            ).fetchall(),
        ]


def test_an_existing_cluster_is_brought_into_line_and_a_second_run_changes_nothing(
    cluster: PostgresCluster, secrets: Secrets
) -> None:
    """The old way: the superuser created the database and ran the migrations, so it owns
    every table. The one command hands them to the owner; the app can use them; the owner can
    migrate them; and a second run leaves every owner and grant as it was."""
    database = "signupflow_old"
    with superuser(cluster, "postgres") as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    engine = create_engine(cluster.url(database))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert {row[2] for row in privileges(cluster, database) if len(row) == 4} == {"postgres"}
    # What the app could do when it connected as the superuser: the refusals checked below.
    assert denied(cluster.url(database, driver="postgresql"), "TRUNCATE audit_log") == ""

    first = apply_roles(cluster, secrets.directory / "postgres_roles", database)
    assert first.returncode == 0, first.stderr
    after_first = privileges(cluster, database)
    owners = {row[2] for row in after_first if len(row) == 4}
    assert owners == {"signupflow_owner"}
    second = apply_roles(cluster, secrets.directory / "postgres_roles", database)
    assert second.returncode == 0, second.stderr
    assert privileges(cluster, database) == after_first

    app = secrets.libpq("database_url", cluster, database)
    with psycopg.connect(app) as conn:
        conn.execute(
            "INSERT INTO organisations (slug, name, timezone, locale) "
            "VALUES ('old-org', 'Old', 'UTC', 'en')"
        )
        assert conn.execute("SELECT count(*) FROM organisations").fetchone() == (1,)
    assert_refused(app, "TRUNCATE organisations")
    owner_engine = create_engine(secrets.url("migrate_database_url", cluster, database))
    try:
        with owner_engine.connect() as conn:
            command.downgrade(migrate.alembic_config(conn), "-1")
            conn.commit()
        migrate.upgrade(owner_engine)
    finally:
        owner_engine.dispose()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("signupflow_app plain-text-password\n", "is not a SCRAM-SHA-256 verifier"),
        ("signupflow_admin SCRAM-SHA-256$4096:x$y:z\n", "unknown role 'signupflow_admin'"),
        ("signupflow_app SCRAM-SHA-256$4096:x$y:z extra\n", "extra fields"),
    ],
)
def test_a_bad_roles_file_is_refused_before_anything_changes(
    cluster: PostgresCluster, tmp_path: Path, content: str, message: str
) -> None:
    roles_file = tmp_path / "postgres_roles"
    roles_file.write_text(content)
    result = apply_roles(cluster, roles_file, "postgres")
    assert result.returncode == 1
    assert message in result.stderr
    assert "plain-text-password" not in result.stderr


def test_a_missing_roles_file_is_an_error(cluster: PostgresCluster, tmp_path: Path) -> None:
    result = apply_roles(cluster, tmp_path / "absent", "postgres")
    assert result.returncode == 1
    assert "cannot read" in result.stderr
    assert "create_secrets.py" in result.stderr
