"""`make bench-data`: the data-safety tools at the seed's scale (issue 5).

Builds a SQLite database of BENCH_ORGS organisations (default 1,000), each the standard
workload (shared notes, benchmarks.md: an admin, 200 volunteers, 50 events of 4 role slots,
40 week-long leaves) plus its 200 slots filled, then measures on a throwaway PostgreSQL 15
cluster (fsync on, WAL archived by pgBackRest as in production):

    signupflow db migrate-sqlite   SQLite -> a fresh PostgreSQL database (time, rows/s, verified?)
    signupflow backup create       time, pg_dump size, encrypted size
    signupflow backup verify       time
    signupflow backup restore      into a fresh database, time
    pgbackrest backup / restore    full backup of the cluster, restore until promoted

How the data is made. The first organisation is always seeded through the service layer
(`signupflow.demo.seed_workload`, then `assignments.service.assign` for the 200 slots), and that
is timed. Seeding every organisation that way costs that time N times (about an hour for 1,000
on 2 cores), so unless BENCH_SEED=service the others are copies of the first, made through the
ORM models (SQLAlchemy ORM bulk INSERTs of the mapped classes, so types, enums and time zones are
converted by the same column types as in the app; never raw SQL): every primary and foreign key
is shifted by a per-table offset, slugs and e-mail addresses get the copy's slug, and audit
entries' entity ids follow their entity. The copy is then verified: per table the row count is
N times the template's, every organisation owns exactly the template's count in every
organisation-scoped table, SQLite's foreign key check is clean, and the service layer lists
200 assignments and 201 people in the last organisation. The output says which path was used.

Environment: BENCH_ORGS (1000), BENCH_SEED (`auto`: copies when the service layer would take
more than BENCH_SERVICE_BUDGET_S = 300 s; `service`; `copy`), BENCH_PGBACKREST (`1`; `0` skips
it). Results are printed as Markdown and written to bench/results/. Everything it starts is
removed when it ends or fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import psycopg
import pyrage  # type: ignore[import-untyped]
from sqlalchemy import Engine, String, Table, func, insert, select
from sqlalchemy.orm import Mapper, Session, selectinload

from bench.reporting import save_report
from harness.app_server import signupflow_executable
from harness.ports import free_port
from harness.postgres import PostgresCluster, as_postgres, chown_to_postgres, pg_bin_dir
from harness.workload import fill_in_turns
from signupflow.actor import Actor
from signupflow.assignments.models import Assignment
from signupflow.assignments.service import assign
from signupflow.audit.models import AuditEntry
from signupflow.auth.models import User
from signupflow.availability.errors import PersonAway
from signupflow.db import migrate
from signupflow.db.base import Base
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.demo import ROLES, seed_workload
from signupflow.events.models import Event
from signupflow.organisations.models import Organisation, OrganisationDataVersion
from signupflow.people.models import Person
from signupflow.people.service import list_people
from signupflow.settings import Settings

RESULTS_DIR = Path(__file__).with_name("results")
REPO = Path(__file__).resolve().parents[1]
PGBACKREST_CONF = REPO / "deploy" / "pgbackrest" / "pgbackrest.conf"
STANZA = "signupflow"
PASSWORD = "bench-password-not-secret"
VOLUNTEERS = 200
EVENTS = 50
SLOTS_PER_EVENT = 4
ASSIGNMENTS = VOLUNTEERS  # one per slot: 50 events x 4 slots
COPY_CHUNK = 25  # organisations per ORM bulk insert / commit
# BENCH_SEED=auto seeds every organisation through the service layer only if that takes less.
SERVICE_BUDGET_S = 300.0
COMMAND_TIMEOUT_S = 7200
# Audit entries name their entity by this word; its id follows the copy like a foreign key.
AUDIT_ENTITIES = {
    "organisation": "organisations",
    "person": "people",
    "event": "events",
    "assignment": "assignments",
    "user": "users",
    "time_off": "time_off",
    "team": "teams",
    "invitation": "invitations",
}


def slug_of(index: int) -> str:
    return f"org-{index:05d}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Results:
    rows: list[tuple[str, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, what: str, value: str, **figures: Any) -> None:
        self.rows.append((what, value))
        self.figures.update(figures)
        log(f"  {what}: {value}")


# --- seeding -----------------------------------------------------------------------------------


def _admin(session: Session, slug: str) -> Actor:
    organisation = session.scalars(select(Organisation).where(Organisation.slug == slug)).one()
    user_id = session.scalars(
        select(User.id).where(User.email == f"admin@{slug}.example.org")
    ).one()
    return Actor.system(organisation, user_id=user_id)


def seed_through_service_layer(session: Session, settings: Settings, slug: str) -> None:
    """The standard workload, then its 200 slots filled by `assign`, in turns
    (`harness.workload.fill_in_turns`)."""
    workload = seed_workload(
        session,
        settings,
        slug=slug,
        admin_email=f"admin@{slug}.example.org",
        password=PASSWORD,
        volunteers=VOLUNTEERS,
        events=EVENTS,
    )
    session.flush()
    admin = _admin(session, slug)
    holders: dict[str, list[int]] = {role: [] for role in ROLES}
    people = session.scalars(
        select(Person)
        .where(Person.id.in_(workload.person_ids))
        .options(selectinload(Person.skills))
    ).all()
    for person in sorted(people, key=lambda p: p.id):
        for role in person.roles:
            holders[role].append(person.id)

    def place(event_id: int, person_id: int, role: str) -> bool:
        try:
            assign(session, admin, event_id, person_id, role)
        except PersonAway:
            return False
        return True

    seats = [
        (event_id, ROLES[(index + k) % len(ROLES)])
        for index, event_id in enumerate(workload.event_ids)
        for k in range(SLOTS_PER_EVENT)
    ]
    fill_in_turns(seats, holders, place)


# Rows that follow writes rather than data: each organisation's data version shards are made
# as its rows are written (organisations/data_versions.py), the copies' by the copy itself.
DERIVED = (OrganisationDataVersion,)


def _mappers() -> list[Mapper[Any]]:
    return [m for m in Base.registry.mappers if m.class_ not in DERIVED]


def _table(mapper: Mapper[Any]) -> Table:
    return cast(Table, mapper.local_table)


def _template_rows(session: Session) -> dict[type[Any], list[dict[str, Any]]]:
    rows: dict[type[Any], list[dict[str, Any]]] = {}
    for mapper in _mappers():
        attrs = [attr.key for attr in mapper.column_attrs]
        columns = [getattr(mapper.class_, key) for key in attrs]
        found = session.execute(select(*columns)).all()
        rows[mapper.class_] = [dict(zip(attrs, row, strict=True)) for row in found]
    return rows


def _table_spans(session: Session) -> dict[str, int]:
    """Per table with an `id`, the template's largest id: copy k shifts ids by k times it."""
    spans = {}
    for mapper in _mappers():
        if "id" in mapper.columns:
            spans[_table(mapper).name] = int(
                session.scalar(select(func.coalesce(func.max(mapper.class_.id), 0))) or 0
            )
    return spans


def copy_organisations(engine: Engine, template_slug: str, count: int) -> int:
    """Organisations 1..count-1 as copies of organisation 0, through ORM bulk inserts."""
    factory = make_session_factory(engine)
    with factory() as session:
        template = _template_rows(session)
        spans = _table_spans(session)
    # Association tables without a mapped class would be skipped by the copy: refuse instead.
    mapped = {_table(mapper).name for mapper in Base.registry.mappers}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in mapped:
                present = connection.scalar(select(func.count()).select_from(table))
                if present:
                    raise SystemExit(f"{table.name} has rows but no mapped class to copy them")
    plans = []
    for mapper in _mappers():
        table = _table(mapper)
        keyed: dict[str, str] = {}  # attribute -> table whose offset applies
        text_attrs: list[str] = []
        unique_attrs: list[str] = []
        for attr in mapper.column_attrs:
            column = attr.columns[0]
            if column.primary_key and column.name == "id":
                keyed[attr.key] = table.name
            for foreign_key in column.foreign_keys:
                keyed[attr.key] = foreign_key.column.table.name
            if isinstance(column.type, String):
                text_attrs.append(attr.key)
                if column.unique and column.type.length == 64:
                    unique_attrs.append(attr.key)
        plans.append((mapper.class_, keyed, text_attrs, unique_attrs))
    entities = {row["entity"] for row in template.get(AuditEntry, [])}
    unknown = entities - set(AUDIT_ENTITIES)
    if unknown:
        raise SystemExit(f"audit entities with no known table: {sorted(unknown)}")
    ordered = sorted(plans, key=lambda plan: Base.metadata.sorted_tables.index(plan[0].__table__))
    title = template_slug.title()
    inserted = 0
    for first in range(1, count, COPY_CHUNK):
        with unit_of_work(factory) as session:
            for cls, keyed, text_attrs, unique_attrs in ordered:
                batch = []
                for k in range(first, min(first + COPY_CHUNK, count)):
                    slug = slug_of(k)
                    for row in template[cls]:
                        new = dict(row)
                        for key, table_name in keyed.items():
                            if new[key] is not None:
                                new[key] += k * spans[table_name]
                        for key in text_attrs:
                            value = new[key]
                            if isinstance(value, str) and template_slug in value.lower():
                                new[key] = value.replace(template_slug, slug).replace(
                                    title, slug.title()
                                )
                        for key in unique_attrs:
                            # Token hashes (SHA-256 hex): a copy gets its own, unguessable
                            # from the template's and as unique.
                            if new[key] is not None:
                                new[key] = hashlib.sha256(f"{k}:{new[key]}".encode()).hexdigest()
                        if cls is AuditEntry and new["entity_id"] is not None:
                            new["entity_id"] += k * spans[AUDIT_ENTITIES[new["entity"]]]
                        batch.append(new)
                if batch:
                    session.execute(insert(cls), batch)
                    inserted += len(batch)
        log(f"  copied organisations up to {min(first + COPY_CHUNK, count)}/{count}")
    return inserted


def verify_copies(engine: Engine, database: Path, count: int) -> str:
    """Raise unless every organisation holds what the template holds; a one-line summary."""
    with make_session_factory(engine)() as session:
        for mapper in _mappers():
            cls = mapper.class_
            total = session.scalar(select(func.count()).select_from(cls)) or 0
            if total % count:
                raise SystemExit(f"{_table(mapper).name}: {total} rows, not a multiple")
            if "organisation_id" in mapper.columns and total:
                per_org = session.execute(
                    select(cls.organisation_id, func.count()).group_by(cls.organisation_id)
                ).all()
                sizes = {n for _, n in per_org}
                if len(per_org) != count or sizes != {total // count}:
                    raise SystemExit(
                        f"{_table(mapper).name}: {len(per_org)} organisations with "
                        f"{sorted(sizes)[:5]} rows each, expected {count} x {total // count}"
                    )
        last = _admin(session, slug_of(count - 1))
        assignments = session.scalars(
            select(Assignment).where(Assignment.organisation_id == last.organisation_id)
        ).all()
        people, people_total = list_people(
            session, last, q=None, role=None, active=None, limit=500, offset=0
        )
        events = session.scalar(
            select(func.count()).where(Event.organisation_id == last.organisation_id)
        )
    if len(assignments) != ASSIGNMENTS or events != EVENTS or people_total != VOLUNTEERS + 1:
        raise SystemExit(
            f"last organisation: {len(assignments)} assignments, {events} events, "
            f"{people_total} people"
        )
    if any(a.person_id not in {p["id"] for p in people} for a in assignments):
        raise SystemExit("last organisation: an assignment points outside its people")
    with contextlib.closing(sqlite3.connect(database)) as connection:
        broken = connection.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise SystemExit(f"foreign key check: {len(broken)} dangling references, e.g. {broken[0]}")
    return (
        f"verified: {count} organisations x every table, FK check clean, "
        f"service layer reads {len(assignments)} assignments / {people_total} people"
    )


def build_sqlite(path: Path, orgs: int, mode: str, budget_s: float, results: Results) -> None:
    settings = Settings(
        _env_file=None,
        app_env="test",
        database_url=f"sqlite:///{path}",
        bcrypt_rounds=4,  # seeding speed; no login is measured
        load_demo=False,
    )
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        started = time.monotonic()
        with unit_of_work(factory) as session:
            seed_through_service_layer(session, settings, slug_of(0))
        per_org_s = time.monotonic() - started
        results.add(
            "seed 1 organisation (service layer)",
            f"{per_org_s:.2f} s; all {orgs:,} that way ≈ {per_org_s * orgs / 60:.1f} min",
            service_layer_seconds_per_org=per_org_s,
        )
        use_service = mode == "service" or (mode == "auto" and per_org_s * orgs <= budget_s)
        started = time.monotonic()
        if use_service:
            for index in range(1, orgs):
                with unit_of_work(factory) as session:
                    seed_through_service_layer(session, settings, slug_of(index))
            path_used = f"service layer for all {orgs:,} organisations"
        else:
            rows = copy_organisations(engine, slug_of(0), orgs)
            path_used = (
                f"organisation 0 through the service layer, {orgs - 1:,} ORM bulk copies "
                f"({rows:,} rows)"
            )
        build_s = time.monotonic() - started
        results.add("data path", path_used, data_path=path_used)
        results.add("replicate the rest", f"{build_s:.1f} s", replicate_seconds=build_s)
        started = time.monotonic()
        summary = verify_copies(engine, path, orgs)
        results.add("verify the data", f"{summary} ({time.monotonic() - started:.1f} s)")
    finally:
        engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {
            table.name: connection.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]  # noqa: S608
            for table in Base.metadata.sorted_tables
        }
    results.figures["sqlite_rows"] = counts
    shown = ", ".join(
        f"{name} {counts[name]:,}"
        for name in ("organisations", "people", "events", "event_slots", "assignments", "time_off")
    )
    results.add("rows", f"{sum(counts.values()):,} in all ({shown})")
    size = path.stat().st_size
    results.add("SQLite size", f"{size / 2**20:,.1f} MiB", sqlite_bytes=size)


# --- commands ----------------------------------------------------------------------------------


@dataclass
class Ran:
    seconds: float
    stdout: str
    command: str


def run(command: Sequence[str], env: dict[str, str] | None = None, shown: str = "") -> Ran:
    started = time.monotonic()
    done = subprocess.run(
        list(command),
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{shown or ' '.join(command)} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return Ran(seconds, done.stdout, shown or " ".join(command))


@dataclass
class Repository:
    root: Path

    @classmethod
    def create(cls, prefix: str) -> Repository:
        """An empty repository tree (repo, etc/conf.d, log, spool, lock) in a new temporary
        directory; the caller removes `root`."""
        repository = cls(Path(tempfile.mkdtemp(prefix=prefix)))
        for name in ("repo", "etc/conf.d", "log", "spool", "lock"):
            (repository.root / name).mkdir(parents=True)
        return repository

    @property
    def config_path(self) -> Path:
        return self.root / "etc"

    @property
    def archive_command(self) -> str:
        """PostgreSQL's archive_command pushing WAL into this repository."""
        return f"pgbackrest --config-path={self.config_path} --stanza={STANZA} archive-push %p"

    def configure(self, cluster: PostgresCluster) -> None:
        """Write pgbackrest.conf for `cluster` and a fresh cipher passphrase; hand the tree to
        the postgres user, who runs pgBackRest."""
        (self.config_path / "pgbackrest.conf").write_text(pgbackrest_config(self, cluster))
        secret = self.config_path / "conf.d" / "repo1-cipher.conf"
        secret.write_text(f"[global]\nrepo1-cipher-pass={secrets.token_urlsafe(32)}\n")
        secret.chmod(0o600)
        chown_to_postgres(self.root)

    def command(self, *args: str) -> list[str]:
        return [
            *as_postgres(),
            "pgbackrest",
            f"--config-path={self.config_path}",
            f"--stanza={STANZA}",
            *args,
        ]


def pgbackrest_config(repository: Repository, cluster: PostgresCluster) -> str:
    """The production file with only paths and the port replaced (as tests/pitr does)."""
    overrides = {
        "repo1-path": str(repository.root / "repo"),
        "log-path": str(repository.root / "log"),
        "lock-path": str(repository.root / "lock"),
        "spool-path": str(repository.root / "spool"),
        "pg1-path": str(cluster.data_dir),
        "pg1-port": str(cluster.port),
        "pg1-socket-path": str(cluster.root),
    }
    lines = []
    for line in PGBACKREST_CONF.read_text().splitlines():
        key = line.partition("=")[0].strip()
        if not line.startswith("#") and key in overrides:
            line = f"{key}={overrides.pop(key)}"
        lines.append(line)
    if overrides:
        raise SystemExit(f"{PGBACKREST_CONF} lacks {sorted(overrides)}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def bench_cluster(conf: dict[str, str], repository: Repository | None) -> Iterator[PostgresCluster]:
    """A started throwaway cluster with `conf`, and `repository` (if any) configured for it;
    both removed on exit."""
    try:
        bin_dir = pg_bin_dir()
        if bin_dir is None:
            raise SystemExit("PostgreSQL server binaries (initdb) are not installed")
        cluster = PostgresCluster(bin_dir=bin_dir, extra_conf=conf)
        try:
            if repository is not None:
                repository.configure(cluster)
            cluster.init()
            cluster.start()
            yield cluster
        finally:
            cluster.destroy()
    finally:
        if repository is not None:
            shutil.rmtree(repository.root, ignore_errors=True)


@contextlib.contextmanager
def archiving_cluster(with_pgbackrest: bool) -> Iterator[tuple[PostgresCluster, Repository | None]]:
    repository = None
    # Durable, as in production: the test clusters' fsync=off would flatter every write.
    conf = {"fsync": "on", "max_wal_size": "'2GB'"}
    if with_pgbackrest:
        repository = Repository.create(prefix="sf-bench-pgbackrest-")
        conf |= {
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"'{repository.archive_command}'",
            "archive_timeout": "30s",
        }
    with bench_cluster(conf, repository) as cluster:
        yield cluster, repository


def cli_environment(database_url: str, backup_dir: Path, recipient: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        # This checkout's package, also when the venv's install points at another one.
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "BACKUP_DIR": str(backup_dir),
        "BACKUP_AGE_RECIPIENT": recipient,
    }


def migrate_to_postgres(sqlite_path: Path, target: str) -> tuple[Ran, int, str]:
    """`signupflow db migrate-sqlite` of the data set into the database `target`: the run, the
    rows it copied and verified, and its summary line. SystemExit unless it verified them."""
    migrated = run(
        [signupflow_executable(), "db", "migrate-sqlite", str(sqlite_path), target, "--quiet"],
        shown=f"signupflow db migrate-sqlite {sqlite_path.name} "
        f"postgresql+psycopg://postgres@127.0.0.1/{target.rpartition('/')[2]}",
    )
    summary = migrated.stdout.strip().splitlines()[-1]
    match = re.search(r"copied and verified (\d+) rows in (\d+) tables", summary)
    if match is None:
        raise SystemExit(f"migrate-sqlite did not report a verified copy: {summary}")
    return migrated, int(match.group(1)), summary


def measure_logical(
    cluster: PostgresCluster, sqlite_path: Path, work: Path, results: Results
) -> None:
    signupflow = signupflow_executable()
    target = cluster.create_database("bench")
    migrated, rows, summary = migrate_to_postgres(sqlite_path, target)
    results.add(
        "migrate-sqlite",
        f"{migrated.seconds:.1f} s, {rows / migrated.seconds:,.0f} rows/s end to end; "
        f"tool says: {summary}",
        migrate_seconds=migrated.seconds,
        migrate_rows=rows,
        migrate_verified=True,
    )
    with psycopg.connect(cluster.url(driver="postgresql"), autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size('bench')").fetchone()
    assert row is not None
    results.add("PostgreSQL database size", f"{row[0] / 2**20:,.1f} MiB", pg_bytes=row[0])

    identity = pyrage.x25519.Identity.generate()
    identity_file = work / "age.key"
    identity_file.write_text(f"{identity}\n")
    identity_file.chmod(0o600)
    backup_dir = work / "backups"
    env = cli_environment(target, backup_dir, str(identity.to_public()))
    key = ["--identity-file", str(identity_file)]  # given at run time, as on a recovery host
    created = run([signupflow, "backup", "create", "--no-prune"], env=env)
    manifest_file = next(backup_dir.glob("*.manifest.json"))
    manifest = json.loads(manifest_file.read_text())
    name = manifest["name"]
    results.add(
        "backup create",
        f"{created.seconds:.1f} s; pg_dump {manifest['dump_bytes'] / 2**20:,.1f} MiB, "
        f"encrypted {manifest['archive_bytes'] / 2**20:,.1f} MiB",
        backup_create_seconds=created.seconds,
        dump_bytes=manifest["dump_bytes"],
        archive_bytes=manifest["archive_bytes"],
    )
    verified = run([signupflow, "backup", "verify", name, *key], env=env)
    results.add(
        "backup verify",
        f"{verified.seconds:.1f} s ({verified.stdout.strip().rpartition('(')[2].rstrip(')')})",
        backup_verify_seconds=verified.seconds,
    )
    restore_env = {**env, "DATABASE_URL": cluster.url("bench_restored")}
    restored = run([signupflow, "backup", "restore", name, *key, "--yes"], env=restore_env)
    if "restored and verified" not in restored.stdout:
        raise SystemExit(f"restore did not verify: {restored.stdout}")
    results.add(
        "backup restore (fresh database)",
        f"{restored.seconds:.1f} s, fingerprints equal to the manifest",
        backup_restore_seconds=restored.seconds,
    )


def full_backup(repository: Repository) -> tuple[float, dict[str, Any]]:
    """Take a full backup; its seconds and its entry in `pgbackrest info`."""
    backup = run(repository.command("--type=full", "backup"))
    info = json.loads(run(repository.command("--output=json", "info")).stdout)
    return backup.seconds, info[0]["backup"][-1]


@dataclass
class RestoredCluster:
    url: str  # the superuser's URL of the restored database
    restored_bytes: int  # the files pgBackRest restored
    restore_seconds: float  # pgbackrest restore, files only
    ready_seconds: float  # from the restore's start until promoted and answering


@contextlib.contextmanager
def restored_cluster(
    cluster: PostgresCluster, repository: Repository, database: str
) -> Iterator[RestoredCluster]:
    """Restore the latest backup (`--type=immediate`, promote) into a new data directory next to
    `cluster`, start it on a free port and wait until it has promoted; stopped on exit."""
    restore_dir = cluster.root / "restored"
    restore_dir.mkdir(mode=0o700)
    chown_to_postgres(restore_dir)
    started = time.monotonic()
    run(
        repository.command(
            f"--pg1-path={restore_dir}", "--type=immediate", "--target-action=promote", "restore"
        )
    )
    restore_s = time.monotonic() - started
    restored_bytes = sum(item.stat().st_size for item in restore_dir.rglob("*") if item.is_file())
    port = free_port()
    pg_ctl = str(cluster.bin_dir / "pg_ctl")
    options = f"-p {port} -c archive_mode=off -c unix_socket_directories='{cluster.root}'"
    try:
        run(
            [
                *as_postgres(),
                pg_ctl,
                "-D",
                str(restore_dir),
                "-o",
                options,
                "-l",
                str(cluster.root / "restored.log"),
                "-w",
                "-t",
                "3600",
                "start",
            ]
        )
        url = f"postgresql://postgres@127.0.0.1:{port}/{database}"
        deadline = time.monotonic() + 3600
        with psycopg.connect(url, autocommit=True) as conn:
            while conn.execute("SELECT pg_is_in_recovery()").fetchone() != (False,):
                if time.monotonic() > deadline:
                    raise SystemExit("the restored cluster did not promote within an hour")
                time.sleep(0.2)
        yield RestoredCluster(url, restored_bytes, restore_s, time.monotonic() - started)
    finally:
        run([*as_postgres(), pg_ctl, "-D", str(restore_dir), "-m", "fast", "-w", "stop"])


def measure_pgbackrest(cluster: PostgresCluster, repository: Repository, results: Results) -> None:
    run(repository.command("stanza-create"))
    run(repository.command("check"))
    backup_s, last = full_backup(repository)
    results.add(
        "pgBackRest full backup",
        f"{backup_s:.1f} s; cluster {last['info']['size'] / 2**20:,.1f} MiB, "
        f"repository {last['info']['repository']['delta'] / 2**20:,.1f} MiB (zst, aes-256-cbc)",
        pgbackrest_backup_seconds=backup_s,
        pgbackrest_cluster_bytes=last["info"]["size"],
        pgbackrest_repo_bytes=last["info"]["repository"]["delta"],
    )
    with (
        restored_cluster(cluster, repository, "bench") as restored,
        psycopg.connect(restored.url) as conn,
    ):
        row = conn.execute("SELECT count(*) FROM assignments").fetchone()
    assert row is not None
    results.add(
        "pgBackRest restore",
        f"{restored.restore_seconds:.1f} s to restore files, {restored.ready_seconds:.1f} s until "
        f"promoted and answering ({row[0]:,} assignments)",
        pgbackrest_restore_seconds=restored.restore_seconds,
        pgbackrest_ready_seconds=restored.ready_seconds,
    )


# --- report ------------------------------------------------------------------------------------


def _version(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def machine() -> list[tuple[str, str]]:
    meminfo = Path("/proc/meminfo").read_text()
    total_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    bin_dir = pg_bin_dir()
    postgres = _version([str(bin_dir / "postgres"), "--version"]) if bin_dir else "not installed"
    return [
        (
            "machine",
            f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
            f"{total_kib / 2**20:.1f} GiB RAM, {model.group(1) if model else '?'}",
        ),
        ("os", f"{platform.platform()}"),
        (
            "versions",
            f"SignUpFlow {importlib.metadata.version('signupflow')}, Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {importlib.metadata.version('sqlalchemy')}, {postgres}, "
            f"{_version(['pg_dump', '--version'])}, {_version(['pgbackrest', 'version'])}",
        ),
    ]


def save(name: str, command: str, results: Results) -> None:
    """Print the Markdown table (machine, command, results) and keep it, with the figures as
    JSON, in bench/results/NAME-*.{md,json}."""
    rows = [*machine(), ("command", f"`{command}`"), *results.rows]
    lines = ["| what | figure |", "|---|---|"]
    lines += [f"| {what} | {value.replace('|', '/')} |" for what, value in rows]
    raw = {"command": command, "machine": machine(), **results.figures}
    save_report(name, "\n".join(lines) + "\n", raw)


def main() -> None:
    orgs = int(os.environ.get("BENCH_ORGS", "1000"))
    mode = os.environ.get("BENCH_SEED", "auto")
    budget_s = float(os.environ.get("BENCH_SERVICE_BUDGET_S", SERVICE_BUDGET_S))
    with_pgbackrest = os.environ.get("BENCH_PGBACKREST", "1") != "0"
    if orgs < 1 or mode not in {"auto", "service", "copy"}:
        raise SystemExit("BENCH_ORGS must be >= 1; BENCH_SEED is auto, service or copy")
    if with_pgbackrest and shutil.which("pgbackrest") is None:
        raise SystemExit(
            "pgbackrest is not installed (apt-get install pgbackrest; or BENCH_PGBACKREST=0)"
        )
    command = (
        f"BENCH_ORGS={orgs} BENCH_SEED={mode} BENCH_PGBACKREST={int(with_pgbackrest)} "
        "make bench-data"
    )
    results = Results()
    work = Path(tempfile.mkdtemp(prefix="sf-bench-data-"))
    try:
        log(f"building {orgs:,} organisations into SQLite ...")
        sqlite_path = work / "bench.db"
        build_sqlite(sqlite_path, orgs, mode, budget_s, results)
        with archiving_cluster(with_pgbackrest) as (cluster, repository):
            log("migrate, backup, verify, restore on PostgreSQL ...")
            measure_logical(cluster, sqlite_path, work, results)
            if repository is not None:
                log("pgBackRest full backup and restore ...")
                measure_pgbackrest(cluster, repository, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save("data", command, results)


if __name__ == "__main__":
    main()
