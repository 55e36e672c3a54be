"""People as CSV, for spreadsheets. Export neutralises formulas (a cell starting with = + - @
is prefixed with '); import is all or nothing: every row is checked first, and one bad row
rejects the file with every error listed by line and column."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from signupflow import one_line
from signupflow.actor import Actor
from signupflow.assignments.ledger import fill_places_waited_for
from signupflow.audit.service import record
from signupflow.people.errors import CsvRejected, CsvTooLarge
from signupflow.people.models import Membership, Person, PersonSkill
from signupflow.schemas import SUPPORTED_LOCALES, Email, Name, RoleName
from signupflow.tenancy import scoped

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ERRORS = 100
COLUMNS = ("name", "email", "roles", "member_role", "language", "active")
REQUIRED = ("name", "email")
ALIASES = {"e-mail": "email", "e_mail": "email", "role": "roles", "member role": "member_role"}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROLE_SEPARATOR = ";"
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}

_email = TypeAdapter(Email)
_name = TypeAdapter(Name)
_role = TypeAdapter(RoleName)


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _unsafe(cell: str) -> str:
    # Undo _safe, so an export imports back unchanged.
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_PREFIXES) else cell


def _member_roles(session: Session, organisation_id: int) -> dict[int, str]:
    rows = session.execute(
        scoped(select(Membership.user_id, Membership.role), Membership, organisation_id)
    ).all()
    return {user_id: role.value for user_id, role in rows}


def export_csv(session: Session, organisation_id: int) -> str:
    people = session.scalars(
        scoped(select(Person), Person, organisation_id)
        .options(selectinload(Person.skills))
        .order_by(Person.name, Person.id)
    ).all()
    roles = _member_roles(session, organisation_id)
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read UTF-8 rather than a legacy code page
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for person in people:
        member_role = roles.get(person.user_id, "") if person.user_id else ""
        writer.writerow(
            [
                _safe(person.name),
                _safe(person.email),
                _safe(ROLE_SEPARATOR.join(person.roles)),
                member_role,
                person.language,
                "true" if person.active else "false",
            ]
        )
    return out.getvalue()


@dataclass
class ImportResult:
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    name: str
    email: str
    roles: list[str] | None
    member_role: str | None
    language: str | None
    active: bool | None


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise CsvTooLarge(MAX_BYTES)
    # UTF-16 is Excel's "Unicode text"; utf-8-sig strips the BOM that Excel writes.
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CsvRejected(
            "the file is not UTF-8 text; save it as 'CSV UTF-8'",
            errors=[{"line": 1, "column": None, "message": f"not UTF-8 at byte {exc.start}"}],
            code="csv.not_utf8",
        ) from None
    if "\x00" in text:
        raise CsvRejected(
            "the file contains NUL characters",
            errors=[{"line": 1, "column": None, "message": "NUL character"}],
            code="csv.nul",
        )
    return text


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _parse(text: str) -> tuple[list[_Row], list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []

    def error(line: int, column: str | None, message: str) -> None:
        errors.append({"line": line, "column": column, "message": message})

    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        error(1, None, "the file is empty; the first line must name the columns")
        return [], errors
    except csv.Error as exc:
        error(1, None, f"unreadable CSV: {exc}")
        return [], errors
    columns = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    for column in columns:
        if column not in COLUMNS:
            error(1, column, f"unknown column; expected some of {', '.join(COLUMNS)}")
    for column in REQUIRED:
        if column not in columns:
            error(1, column, "required column is missing")
    if len(set(columns)) != len(columns):
        error(1, None, "a column is named twice")
    if errors:
        return [], errors
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            error(line, None, f"unreadable CSV: {exc}")
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, as spreadsheets leave at the end
        if len(rows) >= MAX_ROWS:
            error(line, None, f"at most {MAX_ROWS} people per file")
            break
        if len(cells) != len(columns):
            error(line, None, f"expected {len(columns)} cells, found {len(cells)}")
            continue
        values = {c: _unsafe(v.strip()) for c, v in zip(columns, cells, strict=True)}
        row = _row(line, values, error)
        if row is None:
            continue
        if row.email in seen:
            error(line, "email", f"already on line {seen[row.email]}")
            continue
        seen[row.email] = line
        rows.append(row)
    return rows, errors


def _one_line_or(error: ValidationError, message: str) -> str:
    if any(e["type"] == "one_line" for e in error.errors()):
        return one_line.MESSAGE
    return message


def _row(
    line: int, values: dict[str, str], error: Callable[[int, str | None, str], None]
) -> _Row | None:
    problems: list[tuple[str, str]] = []
    name = email = ""
    try:
        name = _name.validate_python(values["name"])
    except ValidationError as exc:
        problems.append(("name", _one_line_or(exc, "must be 1 to 200 characters")))
    try:
        email = _email.validate_python(values["email"])
    except ValidationError:
        problems.append(("email", "not a valid e-mail address"))
    roles: list[str] | None = None
    if "roles" in values:
        roles = []
        for part in values["roles"].split(ROLE_SEPARATOR):
            if not part.strip():
                continue
            try:
                roles.append(_role.validate_python(part))
            except ValidationError as exc:
                problems.append(("roles", _one_line_or(exc, f"invalid role {part[:64]!r}")))
        if len(set(roles)) > 50:
            problems.append(("roles", "at most 50 roles"))
    language = values.get("language") or None
    if language is not None and language not in SUPPORTED_LOCALES:
        problems.append(("language", f"must be one of {', '.join(SUPPORTED_LOCALES)}"))
    active: bool | None = None
    if values.get("active"):
        lowered = values["active"].lower()
        if lowered in TRUE | FALSE:
            active = lowered in TRUE
        else:
            problems.append(("active", "must be true or false"))
    member_role = values.get("member_role") or None
    if member_role is not None and member_role not in {"admin", "scheduler", "volunteer"}:
        problems.append(("member_role", "must be admin, scheduler, volunteer or empty"))
    for column, message in problems:
        error(line, column, message)
    if problems:
        return None
    return _Row(line, name, email, roles, member_role, language, active)


def import_csv(session: Session, actor: Actor, data: bytes, *, dry_run: bool) -> ImportResult:
    """Create people whose e-mail is new and update the others (matched by e-mail). Raises
    CsvRejected, writing nothing, when any row is wrong."""
    organisation = actor.organisation
    rows, errors = _parse(decode(data))
    existing = {
        person.email: person
        for person in session.scalars(
            scoped(select(Person), Person, organisation.id).options(selectinload(Person.skills))
        ).all()
    }
    member_roles = _member_roles(session, organisation.id)
    for row in rows:
        if row.member_role is None:
            continue
        person = existing.get(row.email)
        current = member_roles.get(person.user_id) if person and person.user_id else None
        if row.member_role != current:
            errors.append(
                {
                    "line": row.line,
                    "column": "member_role",
                    "message": "member roles change in the app (invite people to give them "
                    "a login); leave the cell as exported or empty",
                }
            )
    if errors:
        errors.sort(key=lambda e: (e["line"], e["column"] or ""))
        raise CsvRejected(
            f"{len(errors)} error(s); nothing was imported",
            errors=errors[:MAX_ERRORS],
            error_count=len(errors),
            code="csv.rejected",
            params={"count": len(errors)},
        )
    result = ImportResult(dry_run=dry_run)
    may_qualify: list[Person] = []
    for row in rows:
        person = existing.get(row.email)
        if person is None:
            result.created += 1
            if not dry_run:
                person = Person(
                    organisation_id=organisation.id,
                    name=row.name,
                    email=row.email,
                    language=row.language or organisation.locale,
                    active=True if row.active is None else row.active,
                    skills=[PersonSkill(role=r) for r in sorted(set(row.roles or []))],
                )
                session.add(person)
            continue
        before = (person.active, person.roles)
        changed = _apply(person, row, dry_run=dry_run)
        if changed:
            result.updated += 1
            if (person.active and not before[0]) or person.roles != before[1]:
                may_qualify.append(person)
        else:
            result.unchanged += 1
    if not dry_run:
        session.flush()
        for person in may_qualify:  # as after an edit in the app: they may take a place now
            fill_places_waited_for(session, actor, person.id)
        record(
            session,
            actor,
            action="import",
            entity="person",
            entity_id=None,
            changes={"created": result.created, "updated": result.updated},
        )
    return result


def _apply(person: Person, row: _Row, *, dry_run: bool) -> bool:
    wanted: dict[str, Any] = {"name": row.name}
    if row.language is not None:
        wanted["language"] = row.language
    if row.active is not None:
        wanted["active"] = row.active
    changed = any(getattr(person, k) != v for k, v in wanted.items())
    roles = sorted(set(row.roles)) if row.roles is not None else None
    if roles is not None and roles != person.roles:
        changed = True
    if changed and not dry_run:
        for key, value in wanted.items():
            setattr(person, key, value)
        if roles is not None:
            person.skills = [PersonSkill(role=r) for r in roles]
    return changed
