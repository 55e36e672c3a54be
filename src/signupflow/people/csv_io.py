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
from sqlalchemy.orm import Session, joinedload, selectinload

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
    # Joined, not selectin-loaded: one statement whose text does not grow with the people.
    people = (
        session.scalars(
            scoped(select(Person), Person, organisation_id)
            .options(joinedload(Person.skills))
            .order_by(Person.name, Person.id)
        )
        .unique()
        .all()
    )
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


# Every error a line of a file can have: its code (the web app shows "csv.line.<code>" in the
# user's language, web/js/pages/people.js) and its English message, filled from its params.
LINE_ERRORS = {
    "empty": "the file is empty; the first line must name the columns",
    "unreadable": "unreadable CSV: {reason}",
    "unknown_column": "unknown column; expected some of {expected}",
    "missing_column": "required column is missing",
    "duplicate_column": "a column is named twice",
    "too_many_rows": "at most {max} people per file",
    "cell_count": "expected {expected} cells, found {found}",
    "duplicate_email": "already on line {first}",
    "name": "must be 1 to 200 characters",
    "one_line": one_line.MESSAGE,
    "email": "not a valid e-mail address",
    "role": "invalid role {role}",
    "too_many_roles": "at most 50 roles",
    "language": "must be one of {allowed}",
    "active": "must be true or false",
    "member_role": "must be admin, scheduler, volunteer or empty",
    "member_role_change": "member roles change in the app (invite people to give them a login); "
    "leave the cell as exported or empty",
}


def line_error(line: int, column: str | None, code: str, **params: Any) -> dict[str, Any]:
    return {
        "line": line,
        "column": column,
        "code": code,
        "params": params,
        "message": LINE_ERRORS[code].format(**params),
    }


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _parse(text: str) -> tuple[list[_Row], list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []

    def error(line: int, column: str | None, code: str, **params: Any) -> None:
        errors.append(line_error(line, column, code, **params))

    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        error(1, None, "empty")
        return [], errors
    except csv.Error as exc:
        error(1, None, "unreadable", reason=str(exc))
        return [], errors
    columns = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    for column in columns:
        if column not in COLUMNS:
            error(1, column, "unknown_column", expected=", ".join(COLUMNS))
    for column in REQUIRED:
        if column not in columns:
            error(1, column, "missing_column")
    if len(set(columns)) != len(columns):
        error(1, None, "duplicate_column")
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
            error(line, None, "unreadable", reason=str(exc))
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, as spreadsheets leave at the end
        if len(rows) >= MAX_ROWS:
            error(line, None, "too_many_rows", max=MAX_ROWS)
            break
        if len(cells) != len(columns):
            error(line, None, "cell_count", expected=len(columns), found=len(cells))
            continue
        values = {c: _unsafe(v.strip()) for c, v in zip(columns, cells, strict=True)}
        row = _row(line, values, error)
        if row is None:
            continue
        if row.email in seen:
            error(line, "email", "duplicate_email", first=seen[row.email])
            continue
        seen[row.email] = line
        rows.append(row)
    return rows, errors


def _one_line_or(error: ValidationError, code: str) -> str:
    return "one_line" if any(e["type"] == "one_line" for e in error.errors()) else code


def _row(line: int, values: dict[str, str], error: Callable[..., None]) -> _Row | None:
    problems: list[tuple[str, str, dict[str, Any]]] = []
    name = email = ""
    try:
        name = _name.validate_python(values["name"])
    except ValidationError as exc:
        problems.append(("name", _one_line_or(exc, "name"), {}))
    try:
        email = _email.validate_python(values["email"])
    except ValidationError:
        problems.append(("email", "email", {}))
    roles: list[str] | None = None
    if "roles" in values:
        roles = []
        for part in values["roles"].split(ROLE_SEPARATOR):
            if not part.strip():
                continue
            try:
                roles.append(_role.validate_python(part))
            except ValidationError as exc:
                problems.append(("roles", _one_line_or(exc, "role"), {"role": repr(part[:64])}))
        if len(set(roles)) > 50:
            problems.append(("roles", "too_many_roles", {}))
    language = values.get("language") or None
    if language is not None and language not in SUPPORTED_LOCALES:
        problems.append(("language", "language", {"allowed": ", ".join(SUPPORTED_LOCALES)}))
    active: bool | None = None
    if values.get("active"):
        lowered = values["active"].lower()
        if lowered in TRUE | FALSE:
            active = lowered in TRUE
        else:
            problems.append(("active", "active", {}))
    member_role = values.get("member_role") or None
    if member_role is not None and member_role not in {"admin", "scheduler", "volunteer"}:
        problems.append(("member_role", "member_role", {}))
    for column, code, params in problems:
        error(line, column, code, **params)
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
            errors.append(line_error(row.line, "member_role", "member_role_change"))
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
