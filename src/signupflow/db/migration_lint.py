"""The migration linter: every revision's SQL, rendered for PostgreSQL as `alembic upgrade --sql`
would, checked by squawk for statements that take long locks or break the release still
running during a rolling deploy (docs/migrations.md).

A finding refuses the migration unless the revision declares, at module level,
`CONTRACT = "<why this is safe now>"`: a step a reviewer accepted (a contract step dropping
what the previous release no longer reads, or a lock whose cost was weighed). Its findings are
still reported, so the review stays visible."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from signupflow.db.migrate import MIGRATION_SESSION_SETTINGS, alembic_config

CONTRACT_MARKER = "CONTRACT"
# A marker says why in a sentence; a word or two is not a review.
MIN_CONTRACT_REASON = 30
PG_VERSION = "15"  # the production server (deploy/compose) and the test clusters

# squawk's rules that this project does not enforce, and why. Every other rule, including any a
# newer squawk adds, refuses a migration: a new rule is classified here before it is ignored.
EXCLUDED_RULES: dict[str, str] = {
    # Column types chosen by the models: VARCHAR(n) bounds mirror the API's validation, and a
    # later change of type or length is caught by changing-column-type.
    "prefer-text-field": "VARCHAR(n) mirrors the API's length limits; changes are caught by "
    "changing-column-type",
    "prefer-identity": "BIGSERIAL is what SQLAlchemy renders for the models' BigId; no lock",
    "prefer-bigint-over-int": "ids are BIGINT; the INTEGER columns are small counts",
    "prefer-bigint-over-smallint": "the SMALLINT columns are bounded by the API",
    # Each revision runs once, in a transaction, under the migration lock: a failed statement
    # rolls its revision back. IF [NOT] EXISTS would hide a schema that drifted from the
    # migrations (tests/test_migrations.py compares them with the models).
    "prefer-robust-stmts": "revisions run once, transactionally, under the migration lock",
    # A migration may rightly run long (a backfill); migrate.MIGRATION_SESSION_SETTINGS lifts
    # the statement timeout on purpose and bounds lock waits instead (require-lock-timeout
    # stays on, and is satisfied by those settings).
    "require-statement-timeout": "migrations may run long; lock waits are bounded instead",
    # New enum values are appended; no query orders or compares by an enum's position.
    "require-enum-value-ordering": "no query orders or compares by an enum value's position",
}

_RUNNING = re.compile(r"^-- Running upgrade (?P<down>.*) -> (?P<rev>\S+)$")


class LintError(Exception):
    """The linter could not run (no squawk, SQL that would not render): not a verdict."""


@dataclass(frozen=True)
class Finding:
    rule: str
    line: int  # 1-based, in the revision's rendered SQL
    statement: str
    message: str


@dataclass
class RevisionReport:
    revision: str
    path: Path
    contract: str | None
    sql: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.findings) and self.contract is None


def squawk_binary() -> str:
    beside = Path(sys.executable).with_name("squawk")  # installed into the same venv
    found = str(beside) if beside.exists() else shutil.which("squawk")
    if found is None:
        raise LintError("squawk is not installed: pip install -e '.[dev]' (PyPI squawk-cli)")
    return found


def _config(versions_dir: Path | None) -> Config:
    config = alembic_config()
    if versions_dir is not None:
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(versions_dir))
    return config


def render_postgresql_sql(versions_dir: Path | None = None) -> str:
    """The whole history as `alembic upgrade base:heads --sql` prints it for PostgreSQL, one
    transaction per revision (migrations/env.py, offline mode)."""
    config = _config(versions_dir)
    buffer = io.StringIO()
    config.output_buffer = buffer
    config.attributes["dialect_name"] = "postgresql"
    command.upgrade(config, "base:heads", sql=True)
    return buffer.getvalue()


def split_by_revision(sql: str) -> dict[str, str]:
    """Each revision's statements, from the BEGIN that opens its transaction to the next's,
    with the session settings every migration runs under (migrate._migration_session)."""
    lines = sql.splitlines()
    starts: list[tuple[str, int]] = []
    for number, line in enumerate(lines):
        match = _RUNNING.match(line)
        if match is None:
            continue
        begin = number
        floor = starts[-1][1] + 1 if starts else 0
        while begin > floor and lines[begin].strip() != "BEGIN;":
            begin -= 1
        starts.append((match["rev"], begin if lines[begin].strip() == "BEGIN;" else number))
    if not starts:
        raise LintError("the rendered SQL names no revision (no '-- Running upgrade' line)")
    preamble = "".join(f"{setting};\n" for setting in MIGRATION_SESSION_SETTINGS)
    segments: dict[str, str] = {}
    for index, (revision, begin) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else len(lines)
        segments[revision] = preamble + "\n".join(lines[begin:end]) + "\n"
    return segments


def _statement_at(sql: str, line: int, line_end: int) -> str:
    text = " ".join(part.strip() for part in sql.splitlines()[line : line_end + 1])
    return text if len(text) <= 160 else text[:157] + "..."


def run_squawk(segments: dict[str, str], squawk: str | None = None) -> dict[str, list[Finding]]:
    binary = squawk or squawk_binary()
    findings: dict[str, list[Finding]] = {revision: [] for revision in segments}
    with tempfile.TemporaryDirectory(prefix="migration-lint-") as workdir:
        files = {}
        for revision, sql in segments.items():
            path = Path(workdir) / f"{revision}.sql"
            path.write_text(sql)
            files[path.name] = revision
        result = subprocess.run(  # noqa: S603 - the venv's squawk on files this process wrote
            [
                binary,
                "--reporter",
                "json",
                "--pg-version",
                PG_VERSION,
                "--exclude",
                ",".join(sorted(EXCLUDED_RULES)),
                *sorted(files),
            ],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    try:
        violations = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as error:
        raise LintError(f"squawk answered {result.returncode}: {result.stderr.strip()}") from error
    if result.returncode not in (0, 1) or not isinstance(violations, list):
        raise LintError(f"squawk answered {result.returncode}: {result.stderr.strip()}")
    for violation in violations:
        revision = files[Path(violation["file"]).name]
        line, line_end = int(violation["line"]), int(violation.get("line_end", violation["line"]))
        message = violation["message"]
        if violation.get("help"):
            message = f"{message} {violation['help']}"
        findings[revision].append(
            Finding(
                rule=violation["rule_name"],
                line=line + 1,  # squawk counts lines from 0
                statement=_statement_at(segments[revision], line, line_end),
                message=message,
            )
        )
    return findings


def _contract_of(module: object, path: Path) -> str | None:
    contract = getattr(module, CONTRACT_MARKER, None)
    if contract is None:
        return None
    if not isinstance(contract, str) or len(contract.strip()) < MIN_CONTRACT_REASON:
        raise LintError(
            f"{path.name}: {CONTRACT_MARKER} must say in a sentence why the step is safe now "
            f"(at least {MIN_CONTRACT_REASON} characters)"
        )
    return contract.strip()


def lint_migrations(
    versions_dir: Path | None = None, squawk: str | None = None
) -> list[RevisionReport]:
    """Every revision, oldest first, with its findings and its contract marker if any."""
    scripts = ScriptDirectory.from_config(_config(versions_dir))
    segments = split_by_revision(render_postgresql_sql(versions_dir))
    findings = run_squawk(segments, squawk)
    reports = []
    for script in reversed(list(scripts.walk_revisions())):
        if script.revision not in segments:
            raise LintError(f"revision {script.revision} rendered no SQL")
        path = Path(script.path)
        reports.append(
            RevisionReport(
                revision=script.revision,
                path=path,
                contract=_contract_of(script.module, path),
                sql=segments[script.revision],
                findings=findings[script.revision],
            )
        )
    return reports


def format_report(reports: list[RevisionReport]) -> str:
    lines = []
    for report in reports:
        for finding in report.findings:
            verdict = "reviewed contract step" if report.contract else "REFUSED"
            lines.append(
                f"{report.path.name} (revision {report.revision}) SQL line {finding.line}: "
                f"{verdict}: {finding.rule}: {finding.statement}\n    {finding.message}"
            )
        if report.findings and report.contract:
            lines.append(f"    {CONTRACT_MARKER}: {report.contract}")
    refused = [report for report in reports if report.refused]
    if refused:
        lines.append(
            f"{len(refused)} migration(s) refused: "
            + ", ".join(report.path.name for report in refused)
            + ". Make each step safe for the release still running (docs/migrations.md), or, "
            f"when a reviewer accepts it, declare {CONTRACT_MARKER} = '<why it is safe now>'."
        )
    else:
        lines.append(f"{len(reports)} migration(s) linted: none refused.")
    return "\n".join(lines)
