"""`make bench-restore`: a pgBackRest full backup and restore of a multi-GB SignUpFlow database,
extrapolated to 50 GB (issue 14, point 6).

A throwaway PostgreSQL cluster on this host (fsync on, WAL level replica, archive mode on) gets
the real schema (`alembic upgrade head`) and BENCH_RESTORE_GB (default 3) GiB of data in the
real tables: organisation 0 is the standard workload seeded through the service layer
(bench.data_bench.seed_through_service_layer: an admin, 200 volunteers, 50 events of 4 slots,
40 leaves, 200 assignments) and organisations 1..N are copies of it made in PostgreSQL by
`INSERT ... SELECT ... CROSS JOIN generate_series` per table: every primary and foreign key
shifted by a per-table offset, slugs and e-mail addresses rewritten, token hashes re-derived
(sha256), audit entries' entity ids following their entity, sequences moved past the copies,
then `VACUUM (ANALYZE)` as a database in service would be. Copies are added in batches until
the database reaches the target size, so generation stays bounded (about 2 minutes a GiB here).

During generation the archive command discards WAL (`true`): the load is not what is measured.
Then the archive command becomes pgBackRest's, as in production, and with
deploy/pgbackrest/pgbackrest.conf (only paths and the port replaced: zstd level 3,
aes-256-cbc, process-max 2, start-fast) and a local repository on the same disk, the benchmark
times `stanza-create` + `check`, a full backup, and a restore (`--type=immediate`) into a new
data directory, started on another port until it has promoted and answers; every table's row
count must equal the source's.

Environment: BENCH_RESTORE_GB (3; fractions allowed, e.g. 0.02 for a smoke run). Results are
printed as Markdown and written to bench/results/restore-*.{md,json}. Everything it starts is
removed when it ends or fails.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Column, Enum, String, Text

import signupflow.db.models  # noqa: F401 -- registers every table on Base.metadata
from bench.data_bench import (
    AUDIT_ENTITIES,
    Repository,
    Results,
    bench_cluster,
    full_backup,
    log,
    restored_cluster,
    run,
    save,
    seed_through_service_layer,
    slug_of,
)
from harness.postgres import PostgresCluster
from signupflow.db import migrate
from signupflow.db.base import Base
from signupflow.db.engine import make_engine
from signupflow.db.session import make_session_factory, unit_of_work
from signupflow.settings import Settings

DATABASE = "signupflow"
GIB = 2**30
EXTRAPOLATE_TO = 50 * GIB
MAX_BATCH = 2000  # organisations per INSERT ... SELECT transaction
# Columns that hold another table's id without a declared foreign key.
UNDECLARED_REFERENCES = {("events", "series_id"): "event_series"}


def column_expression(
    table_name: str, column: Column[Any], spans: dict[str, int]
) -> sql.Composable:
    """What copy `k` of the template row puts in this column."""
    name = sql.Identifier(column.name)
    target: str | None = None
    if column.primary_key and column.name == "id":
        target = table_name
    for foreign_key in column.foreign_keys:
        target = foreign_key.column.table.name
    target = UNDECLARED_REFERENCES.get((table_name, column.name), target)
    if target is not None:
        return sql.SQL("{} + k * {}").format(name, sql.Literal(spans[target]))
    if table_name == "audit_log" and column.name == "entity_id":
        cases = sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN entity_id + k * {}").format(
                sql.Literal(entity), sql.Literal(spans.get(table, 0))
            )
            for entity, table in AUDIT_ENTITIES.items()
        )
        return sql.SQL("CASE entity {} ELSE entity_id END").format(cases)
    if isinstance(column.type, String | Text) and not isinstance(column.type, Enum):
        if column.unique and isinstance(column.type, String) and column.type.length == 64:
            return sql.SQL("encode(sha256(convert_to(k || ':' || {}, 'UTF8')), 'hex')").format(name)
        return sql.SQL("replace({}, {}, 'org-' || lpad(k::text, 5, '0'))").format(
            name, sql.Literal(slug_of(0))
        )
    return name


def copy_statements(spans: dict[str, int]) -> list[tuple[str, sql.Composed]]:
    statements = []
    for table in Base.metadata.sorted_tables:
        columns = list(table.columns)
        statements.append(
            (
                table.name,
                sql.SQL(
                    "INSERT INTO {table} ({columns}) SELECT {values} FROM {table} CROSS JOIN "
                    "generate_series(%(first)s::bigint, %(last)s::bigint) AS k WHERE {template}"
                ).format(
                    table=sql.Identifier(table.name),
                    columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
                    values=sql.SQL(", ").join(
                        column_expression(table.name, c, spans) for c in columns
                    ),
                    template=template_filter(table.name, spans),
                ),
            )
        )
    return statements


def template_filter(table_name: str, spans: dict[str, int]) -> sql.Composable:
    """Only the template's rows are copied (ids up to its span), never earlier copies."""
    table = Base.metadata.tables[table_name]
    if "id" in table.columns:
        return sql.SQL("id <= {}").format(sql.Literal(spans[table_name]))
    for column in table.columns:
        for foreign_key in column.foreign_keys:
            target = foreign_key.column.table.name
            return sql.SQL("{} <= {}").format(
                sql.Identifier(column.name), sql.Literal(spans[target])
            )
    raise SystemExit(f"{table_name}: no id and no foreign key to tell the template's rows")


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            table.name: int(
                conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))
                ).fetchone()[0]  # type: ignore[index]
            )
            for table in Base.metadata.sorted_tables
        }


def database_bytes(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])


def generate(cluster: PostgresCluster, target_bytes: int, results: Results) -> dict[str, int]:
    """Fill DATABASE up to target_bytes; the per-table row counts."""
    url = cluster.create_database(DATABASE)
    settings = Settings(
        _env_file=None, app_env="test", database_url=url, bcrypt_rounds=4, load_demo=False
    )
    engine = make_engine(settings)
    started = time.monotonic()
    try:
        migrate.upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_through_service_layer(session, settings, slug_of(0))
    finally:
        engine.dispose()
    raw_url = cluster.url(DATABASE, driver="postgresql")
    with psycopg.connect(raw_url, autocommit=True) as conn:
        spans = {}
        for table in Base.metadata.sorted_tables:
            if "id" in table.columns:
                row = conn.execute(
                    sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(
                        sql.Identifier(table.name)
                    )
                ).fetchone()
                spans[table.name] = int(row[0]) if row else 0
        statements = copy_statements(spans)
        orgs = 1
        size = database_bytes(conn)
        batch = 50
        while size < target_bytes:
            first, last = orgs, orgs + batch - 1
            with conn.transaction():
                for _, statement in statements:
                    conn.execute(statement, {"first": first, "last": last})
            orgs = last + 1
            size = database_bytes(conn)
            per_org = size / orgs
            batch = max(1, min(MAX_BATCH, math.ceil((target_bytes - size) / per_org)))
            log(f"  {orgs:,} organisations, {size / GIB:.2f} GiB")
        for table in Base.metadata.sorted_tables:
            if "id" in table.columns:
                conn.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence({name}, 'id'), max(id)) FROM {table}"
                    ).format(name=sql.Literal(table.name), table=sql.Identifier(table.name))
                )
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
        size = database_bytes(conn)
    generation_s = time.monotonic() - started
    counts = table_counts(raw_url)
    expected = {name: count for name, count in counts.items()}
    for name, count in expected.items():
        if count % orgs:
            raise SystemExit(f"{name}: {count} rows is not a multiple of {orgs} organisations")
    shown = ", ".join(
        f"{name} {counts[name]:,}"
        for name in ("organisations", "people", "events", "event_slots", "assignments", "audit_log")
    )
    results.add(
        "data",
        f"{orgs:,} organisations (1 through the service layer, {orgs - 1:,} SQL copies), "
        f"{sum(counts.values()):,} rows ({shown}); generated in {generation_s:.0f} s",
        organisations=orgs,
        rows=counts,
        generation_seconds=generation_s,
    )
    results.add("database size", f"{size / GIB:.2f} GiB", database_bytes=size)
    return counts


@contextlib.contextmanager
def benchmark_cluster() -> Iterator[tuple[PostgresCluster, Repository]]:
    conf = {
        "fsync": "on",  # durable, as in production
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": "'true'",  # the load is not measured; see the module docstring
        "max_wal_size": "'8GB'",
        "checkpoint_timeout": "'30min'",
        "shared_buffers": "'512MB'",
        "maintenance_work_mem": "'256MB'",
    }
    repository = Repository.create(prefix="sf-bench-restore-")
    with bench_cluster(conf, repository) as cluster:
        yield cluster, repository


def measure(
    cluster: PostgresCluster, repository: Repository, counts: dict[str, int], results: Results
) -> None:
    with psycopg.connect(cluster.url(driver="postgresql"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER SYSTEM SET archive_command = {}").format(
                sql.Literal(repository.archive_command)
            )
        )
        conn.execute("SELECT pg_reload_conf()")
    stanza = run(repository.command("stanza-create"))
    checked = run(repository.command("check"))
    results.add(
        "stanza-create + check",
        f"{stanza.seconds + checked.seconds:.1f} s",
        stanza_seconds=stanza.seconds + checked.seconds,
    )
    backup_s, last = full_backup(repository)
    cluster_bytes = int(last["info"]["size"])
    repo_bytes = int(last["info"]["repository"]["delta"])
    results.add(
        "pgBackRest full backup",
        f"{backup_s:.1f} s; cluster {cluster_bytes / GIB:.2f} GiB -> repository "
        f"{repo_bytes / GIB:.2f} GiB ({cluster_bytes / repo_bytes:.1f}:1, zst 3, aes-256-cbc, "
        f"process-max 2); {cluster_bytes / 2**20 / backup_s:,.0f} MiB/s of cluster",
        backup_seconds=backup_s,
        cluster_bytes=cluster_bytes,
        repository_bytes=repo_bytes,
    )
    with restored_cluster(cluster, repository, DATABASE) as restored:
        restored_counts = table_counts(restored.url)
    restore_s, ready_s = restored.restore_seconds, restored.ready_seconds
    restored_bytes = restored.restored_bytes
    if restored_counts != counts:
        differ = {
            n: (counts[n], restored_counts.get(n))
            for n in counts
            if restored_counts.get(n) != counts[n]
        }
        raise SystemExit(f"restored row counts differ (source, restored): {differ}")
    results.add(
        "pgBackRest restore",
        f"{restore_s:.1f} s to restore {restored_bytes / GIB:.2f} GiB of files "
        f"({cluster_bytes / 2**20 / restore_s:,.0f} MiB/s of cluster), {ready_s:.1f} s until "
        f"promoted and answering; every table's row count equal to the source's",
        restore_seconds=restore_s,
        ready_seconds=ready_s,
        restored_bytes=restored_bytes,
    )
    scale = EXTRAPOLATE_TO / cluster_bytes
    start_s = ready_s - restore_s  # starting and promoting: not proportional to size
    results.add(
        "extrapolated to 50 GiB",
        f"backup {backup_s * scale / 60:.1f} min, restore {restore_s * scale / 60:.1f} min, "
        f"until answering {(restore_s * scale + start_s) / 60:.1f} min (x{scale:.1f}; backup and "
        "file restore linear in cluster size on the same disk and CPU, at the same compression "
        "ratio and process-max; start-up as measured; WAL replay since the backup not included)",
        extrapolated_backup_seconds=backup_s * scale,
        extrapolated_restore_seconds=restore_s * scale,
        extrapolated_ready_seconds=restore_s * scale + start_s,
    )


def run_benchmark(target_gib: float) -> Results:
    """Generate, back up and restore; the figures (raises SystemExit on any failure)."""
    if shutil.which("pgbackrest") is None:
        raise SystemExit("pgbackrest is not installed (apt-get install pgbackrest)")
    results = Results()
    wall = time.monotonic()
    with benchmark_cluster() as (cluster, repository):
        log(f"generating {target_gib:g} GiB of SignUpFlow data ...")
        counts = generate(cluster, int(target_gib * GIB), results)
        log("pgBackRest full backup and restore ...")
        measure(cluster, repository, counts, results)
    results.add("wall time", f"{(time.monotonic() - wall) / 60:.1f} min")
    return results


def main() -> None:
    try:
        target_gib = float(os.environ.get("BENCH_RESTORE_GB", "3"))
    except ValueError:
        raise SystemExit("BENCH_RESTORE_GB must be a number of GiB, e.g. 3 or 0.05") from None
    if not 0 < target_gib <= 100:
        raise SystemExit("BENCH_RESTORE_GB must be above 0 and at most 100")
    command = f"BENCH_RESTORE_GB={target_gib:g} make bench-restore"
    save("restore", command, run_benchmark(target_gib))


if __name__ == "__main__":
    main()
