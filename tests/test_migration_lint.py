"""The migration linter refuses what breaks a rolling deploy, and a reviewed contract step turns
the refusal into a report (docs/migrations.md). Synthetic revisions are written after the
project's own, into a copy of its versions directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from signupflow.db import migration_lint
from signupflow.db.migrate import MIGRATIONS_DIR, head_revision

SIGNUPFLOW = Path(sys.executable).with_name("signupflow")
REVISION = "0999"


def versions_with(tmp_path: Path, upgrade_body: str, *, contract: str | None = None) -> Path:
    versions = tmp_path / "versions"
    shutil.copytree(MIGRATIONS_DIR / "versions", versions, ignore=shutil.ignore_patterns("__*"))
    marker = f"CONTRACT = {contract!r}\n" if contract is not None else ""
    source = (
        f'"""synthetic"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{REVISION}"\ndown_revision = "{head_revision()}"\n'
        f"branch_labels = None\ndepends_on = None\n{marker}\n\n"
        f"def upgrade() -> None:\n{textwrap.indent(textwrap.dedent(upgrade_body), '    ')}\n\n"
        f"def downgrade() -> None:\n    pass\n"
    )
    (versions / f"{REVISION}_synthetic.py").write_text(source)
    return versions


def synthetic_report(versions: Path) -> migration_lint.RevisionReport:
    reports = migration_lint.lint_migrations(versions)
    assert [r.revision for r in reports][-1] == REVISION
    return reports[-1]


UNSAFE = {
    "adding-required-field": (
        'op.add_column("people", sa.Column("badge", sa.String(20), nullable=False))',
        "ALTER TABLE people ADD COLUMN badge VARCHAR(20) NOT NULL;",
    ),
    "require-concurrent-index-creation": (
        'op.create_index("ix_people_name", "people", ["name"])',
        "CREATE INDEX ix_people_name ON people (name);",
    ),
    "renaming-column": (
        'op.alter_column("people", "name", new_column_name="full_name")',
        "ALTER TABLE people RENAME name TO full_name;",
    ),
    "ban-drop-column": (
        'op.drop_column("people", "phone")',
        "ALTER TABLE people DROP COLUMN phone;",
    ),
}


@pytest.mark.parametrize("rule", sorted(UNSAFE))
def test_linter_refuses_a_step_that_breaks_the_running_release(tmp_path: Path, rule: str) -> None:
    operation, statement = UNSAFE[rule]
    report = synthetic_report(versions_with(tmp_path, operation))

    assert report.refused
    assert (rule, statement) in {(f.rule, f.statement) for f in report.findings}


def test_the_command_names_the_migration_the_statement_and_the_rule(tmp_path: Path) -> None:
    versions = versions_with(tmp_path, UNSAFE["adding-required-field"][0])

    result = subprocess.run(
        [str(SIGNUPFLOW), "db", "lint", "--versions", str(versions)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"{REVISION}_synthetic.py (revision {REVISION}) SQL line 7: REFUSED: "
        "adding-required-field: ALTER TABLE people ADD COLUMN badge VARCHAR(20) NOT NULL;"
    ) in result.stdout
    assert f"1 migration(s) refused: {REVISION}_synthetic.py." in result.stdout


def test_a_reviewed_contract_step_is_reported_not_refused(tmp_path: Path) -> None:
    reason = "nothing reads people.phone since release 0.9, which every replica runs"
    versions = versions_with(tmp_path, UNSAFE["ban-drop-column"][0], contract=reason)

    report = synthetic_report(versions)

    assert not report.refused
    assert report.contract == reason
    assert [f.rule for f in report.findings] == ["ban-drop-column"]
    text = migration_lint.format_report([report])
    assert "reviewed contract step: ban-drop-column: ALTER TABLE people DROP COLUMN phone;" in text
    assert f"CONTRACT: {reason}" in text


def test_a_contract_marker_without_a_reason_is_an_error(tmp_path: Path) -> None:
    versions = versions_with(tmp_path, UNSAFE["ban-drop-column"][0], contract="ok")

    with pytest.raises(migration_lint.LintError, match="CONTRACT must say in a sentence why"):
        migration_lint.lint_migrations(versions)


def test_an_expand_step_passes(tmp_path: Path) -> None:
    """The safe spellings: a nullable column, a NOT NULL one with a default, and an index
    built CONCURRENTLY outside the revision's transaction."""
    versions = versions_with(
        tmp_path,
        """
        op.add_column("people", sa.Column("badge", sa.String(20), nullable=True))
        op.add_column(
            "people",
            sa.Column("tier", sa.Integer(), nullable=False, server_default=sa.text("0")),
        )
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_people_badge", "people", ["badge"], postgresql_concurrently=True
            )
        """,
    )

    report = synthetic_report(versions)

    assert report.findings == []
    assert "CREATE INDEX CONCURRENTLY ix_people_badge ON people (badge);" in report.sql


def test_every_revision_runs_under_the_migration_session_settings(tmp_path: Path) -> None:
    """require-lock-timeout is satisfied by what migrate.py really sets, not by the linter:
    a revision linted without those settings is refused for it."""
    versions = versions_with(tmp_path, 'op.add_column("people", sa.Column("x", sa.Integer()))')
    segment = migration_lint.split_by_revision(migration_lint.render_postgresql_sql(versions))[
        REVISION
    ]
    assert segment.startswith("SET statement_timeout = 0;\nSET lock_timeout = '5s';\nBEGIN;")

    bare = {REVISION: segment.split("\n", 2)[2]}
    findings = migration_lint.run_squawk(bare)[REVISION]
    assert "require-lock-timeout" in {f.rule for f in findings}


def test_the_project_migrations_pass_the_lint() -> None:
    reports = migration_lint.lint_migrations()

    assert [r.revision for r in reports if r.refused] == []
    assert [r.path.name[:4] for r in reports if r.contract] == ["0003", "0005", "0006", "0008"]
