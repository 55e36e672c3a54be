from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from harness.ports import free_port
from signupflow.db.fingerprint import compare
from signupflow.db.migrate import upgrade
from signupflow.transfer.errors import (
    EXIT_COPY_FAILED,
    EXIT_SOURCE,
    EXIT_TARGET_NOT_EMPTY,
    EXIT_USAGE,
    EXIT_VERIFICATION,
)
from tests.transfer.sources import build_small_source
from tests.transfer.support import (
    POSTGRESQL_PASS_ONLY,
    environment,
    fingerprints_of,
    migrate_sqlite,
    row_counts,
    sqlite_engine,
)

pytestmark = POSTGRESQL_PASS_ONLY


def _source(tmp_path: Path, name: str, people: list[str]) -> Path:
    path = tmp_path / f"{name}.db"
    build_small_source(path, names=people)
    return path


def _sql(path: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(statement, params)
    connection.close()


def test_a_target_holding_data_is_refused_and_left_as_it_was(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    source = _source(tmp_path, "first", ["Ada"])
    assert migrate_sqlite(str(source), target_url, "--quiet").returncode == 0
    before = fingerprints_of(target)

    again = migrate_sqlite(str(source), target_url)
    assert again.returncode == EXIT_TARGET_NOT_EMPTY
    assert "--replace" in again.stderr
    assert "people" in again.stderr
    assert fingerprints_of(target) == before


def test_replace_swaps_the_targets_rows_for_the_sources(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    first = _source(tmp_path, "first", ["Ada", "Grace"])
    second = _source(tmp_path, "second", ["Zoë 🎉"])
    assert migrate_sqlite(str(first), target_url, "--quiet").returncode == 0

    replaced = migrate_sqlite(str(second), target_url, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "replacing the rows in organisations, users" in replaced.stderr
    assert compare(fingerprints_of(sqlite_engine(second)), fingerprints_of(target)) == []


def test_a_failed_replace_keeps_the_rows_that_were_there(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    first = _source(tmp_path, "first", ["Ada"])
    broken = _source(tmp_path, "broken", ["Grace"])
    _sql(broken, "UPDATE people SET name = ? WHERE name = ?", "Gr\x00ace", "Grace")
    assert migrate_sqlite(str(first), target_url, "--quiet").returncode == 0
    before = fingerprints_of(target)

    failed = migrate_sqlite(str(broken), target_url, "--replace")
    assert failed.returncode == EXIT_SOURCE
    assert "people" in failed.stderr
    assert "NUL" in failed.stderr
    assert fingerprints_of(target) == before


def test_a_dry_run_reads_everything_and_writes_nothing(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    source = _source(tmp_path, "source", ["Ada"])
    dry = migrate_sqlite(str(source), target_url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would copy" in dry.stdout
    assert "people: 2/2 rows done" in dry.stderr  # the admin and Ada
    assert inspect(target).get_table_names() == []  # not even the schema

    without_target = migrate_sqlite(str(source), "--dry-run", "--quiet")
    assert without_target.returncode == 0
    assert without_target.stderr == ""


def test_a_dry_run_lists_every_row_postgresql_would_refuse(tmp_path: Path) -> None:
    source = _source(tmp_path, "source", ["Ada", "Grace"])
    _sql(source, "UPDATE people SET name = ? WHERE name = 'Ada'", "A\x00da")
    _sql(source, "UPDATE people SET name = ? WHERE name = 'Grace'", "G" * 201)
    _sql(source, "UPDATE audit_log SET changes = ?", '{"ratio": NaN}')
    _sql(source, "UPDATE users SET token_version = ?", 2**40)

    dry = migrate_sqlite(str(source), "--dry-run", "--quiet")
    assert dry.returncode == EXIT_SOURCE
    problems = [line for line in dry.stderr.splitlines() if line.startswith("  - ")]
    assert any("people" in p and "NUL" in p for p in problems), dry.stderr
    assert any("people" in p and "201 characters" in p for p in problems), dry.stderr
    assert any("audit_log" in p and "changes" in p for p in problems), dry.stderr
    assert any("users" in p and "token_version" in p for p in problems), dry.stderr
    assert dry.stdout == ""


def test_a_copy_that_does_not_verify_is_rolled_back(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    source = _source(tmp_path, "source", ["Ada"])
    upgrade(target)
    with target.begin() as connection:
        # A target that silently changes what it is given.
        connection.execute(
            text(
                "CREATE FUNCTION alter_name() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN NEW.name := NEW.name || '!'; RETURN NEW; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER alter_name BEFORE INSERT ON people "
                "FOR EACH ROW EXECUTE FUNCTION alter_name()"
            )
        )

    result = migrate_sqlite(str(source), target_url)
    assert result.returncode == EXIT_VERIFICATION
    assert "people: same row count (2) but different contents" in result.stderr
    assert set(row_counts(target).values()) == {0}


def test_a_changed_row_or_a_missing_row_in_a_copy_is_detected(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    source = _source(tmp_path, "source", ["Ada", "Grace"])
    assert migrate_sqlite(str(source), target_url, "--quiet").returncode == 0
    expected = fingerprints_of(sqlite_engine(source))
    assert compare(expected, fingerprints_of(target)) == []

    with target.begin() as connection:
        connection.execute(text("UPDATE people SET email = 'ada@example.com' WHERE name = 'Ada'"))
    [changed] = compare(expected, fingerprints_of(target))
    assert changed.table == "people"
    assert "same row count" in str(changed)

    with target.begin() as connection:
        connection.execute(text("DELETE FROM person_skills"))
    differences = {d.table: str(d) for d in compare(expected, fingerprints_of(target))}
    assert set(differences) == {"people", "person_skills"}
    assert differences["person_skills"] == "person_skills: 0 rows, expected 2"


def test_a_source_at_another_schema_revision_is_refused_before_the_target_is_touched(
    tmp_path: Path, target_url: str, target: Engine
) -> None:
    source = _source(tmp_path, "source", ["Ada"])
    _sql(source, "UPDATE alembic_version SET version_num = '0000_older'")

    result = migrate_sqlite(str(source), target_url)
    assert result.returncode == EXIT_SOURCE
    assert "revision 0000_older" in result.stderr
    assert inspect(target).get_table_names() == []


def test_unusable_arguments_are_refused_with_their_own_exit_codes(
    tmp_path: Path, target_url: str
) -> None:
    source = _source(tmp_path, "source", ["Ada"])
    url_file = tmp_path / "target-url"
    url_file.write_text(target_url)

    missing = migrate_sqlite(str(tmp_path / "nowhere.db"), target_url)
    assert missing.returncode == EXIT_SOURCE
    assert "no SQLite database" in missing.stderr
    assert not (tmp_path / "nowhere.db").exists()

    for args in (
        [str(source)],  # no target
        [str(source), f"sqlite:///{tmp_path / 'other.db'}"],  # not PostgreSQL
        [str(source), target_url, "--target-file", str(url_file)],  # two targets
        ["postgresql://localhost/source", target_url],  # the source is not SQLite
        [str(source), target_url, "--batch-size", "0"],
    ):
        assert migrate_sqlite(*args).returncode == EXIT_USAGE, args

    password = "s3cret-Pa55"
    nobody_listens = f"postgresql://app:{password}@127.0.0.1:{free_port()}/signupflow"
    unreachable = migrate_sqlite(str(source), nobody_listens)
    assert unreachable.returncode == EXIT_COPY_FAILED
    assert "password on the command line" in unreachable.stderr
    assert password not in unreachable.stderr + unreachable.stdout

    from_environment = migrate_sqlite(
        str(source), "--quiet", env=environment(TARGET_DATABASE_URL=target_url)
    )
    assert from_environment.returncode == 0, from_environment.stderr
