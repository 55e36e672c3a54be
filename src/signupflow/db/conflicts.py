"""What it means when a concurrent request wins a race to a unique key, or to a row: the
violated constraint's name maps to the domain error the client gets (a 409 with a code), in
this one registry, wherever the violation surfaces. A request that checked first ("is this
e-mail free?") and lost the race to the insert is answered as if the check had seen the winner.

Constraint names follow the naming convention (db/base.py); PostgreSQL reports them, SQLite
only names the columns, which resolve to the same names through the metadata. A violation not
listed here stays an error (a 500): it means a rule the code should have checked first."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from signupflow.assignments.errors import AlreadyWaitlisted
from signupflow.db.base import Base
from signupflow.errors import ChangedMeanwhile, Conflict, DomainError
from signupflow.scheduling.errors import ScheduleRuleBroken

Row = Mapping[str, Any]


def changed_meanwhile() -> ChangedMeanwhile:
    return ChangedMeanwhile(
        "someone else changed this at the same moment; reload and try again",
        code="resource.changed_meanwhile",
    )


# Constraint name -> the error, built from the values of the row that collided.
MEANING: dict[str, Callable[[Row], DomainError]] = {
    "uq_organisations_slug": lambda row: Conflict(
        f"the address '{row['slug']}' is taken; choose another",
        code="organisation.slug_taken",
        params={"slug": row["slug"]},
    ),
    "uq_users_email": lambda row: Conflict(
        "an account with this e-mail exists; log in to create another organisation",
        code="account.email_taken",
    ),
    "uq_people_organisation_id_email": lambda row: Conflict(
        f"{row['email']} is already a member of this organisation",
        code="person.email_taken",
        params={"email": row["email"]},
    ),
    "uq_memberships_organisation_id_user_id": lambda row: Conflict(
        "you are already a member of this organisation", code="invitation.already_joined"
    ),
    "uq_teams_organisation_id_name": lambda row: Conflict(
        f"a team named '{row['name']}' exists",
        code="team.name_taken",
        params={"name": row["name"]},
    ),
    "uq_waitlist_entries_slot_id_person_id": lambda row: AlreadyWaitlisted(
        f"you are already waiting for '{row['role']}' at this event",
        code="waitlist.already_waiting",
        params={"role": row["role"]},
    ),
    "uq_schedule_entries_schedule_id_slot_id_person_id": lambda row: ScheduleRuleBroken(
        "this person is already in this slot",
        rule="duplicate",
        code="schedule.rule_broken",
        params={"rule": "duplicate"},
    ),
    # Two edits of one person's roles, or of one event's slots, writing the same new row.
    "pk_person_skills": lambda row: changed_meanwhile(),
    "pk_team_members": lambda row: changed_meanwhile(),
    "uq_event_slots_event_id_role": lambda row: changed_meanwhile(),
    # A place taken by a concurrent request; the sign-up paths say who, this is the fallback.
    "uq_assignments_event_id_person_id": lambda row: changed_meanwhile(),
}

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w., ]+)")


def _sqlite_constraint(message: str) -> str | None:
    found = _SQLITE_UNIQUE.search(message)
    if found is None:
        return None
    qualified = [c.strip().split(".") for c in found["columns"].split(",")]
    table = Base.metadata.tables.get(qualified[0][0])
    if table is None:
        return None
    columns = {column for _, column in qualified}
    keys = (c for c in table.constraints if isinstance(c, UniqueConstraint | PrimaryKeyConstraint))
    return next((str(c.name) for c in keys if set(c.columns.keys()) == columns), None)


_INSERT_COLUMNS = re.compile(r"^\s*INSERT INTO \S+ \((?P<columns>[^)]*)\) VALUES", re.IGNORECASE)


def _row_of(exc: IntegrityError) -> Row:
    """The values of the statement that failed, by column: PostgreSQL's driver takes them by
    name; SQLite's by position, in the order of the INSERT's column list."""
    params = exc.params
    if isinstance(params, Mapping):
        return params
    found = _INSERT_COLUMNS.match(exc.statement or "")
    if found is None or not isinstance(params, tuple):
        return {}
    columns = [c.strip().strip('"') for c in found["columns"].split(",")]
    return dict(zip(columns, params, strict=False)) if len(columns) == len(params) else {}


def _refers_to_a_deleted_row(exc: IntegrityError) -> bool:
    # Services load what a new row refers to before inserting it, so a foreign key that
    # fails means a concurrent request deleted it in between.
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23503" or "FOREIGN KEY constraint failed" in str(exc.orig)


def constraint_of(exc: IntegrityError) -> str | None:
    """The name of the constraint a statement violated, on either database."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None)
    return _sqlite_constraint(str(exc.orig))


def meaning_of(exc: IntegrityError | StaleDataError) -> DomainError | None:
    """The domain error a lost race means, or None for a violation that is a bug."""
    if isinstance(exc, StaleDataError) or _refers_to_a_deleted_row(exc):
        return changed_meanwhile()
    meaning = MEANING.get(constraint_of(exc) or "")
    if meaning is None:
        return None
    try:
        return meaning(_row_of(exc))
    except KeyError:  # a batch insert: which of its rows collided is not known
        return changed_meanwhile()


@contextmanager
def savepoint(
    session: Session, *, collision: Callable[[], DomainError] | None = None
) -> Iterator[None]:
    """Around a write that a concurrent request may beat to a unique key: only the savepoint
    rolls back (the session stays usable and its objects loaded) and the collision is raised
    as its domain error, or as `collision()` when the caller can say more (who, what).
    Without it, a failed flush leaves the session unusable until the request ends, and the
    next attribute read fails as a 500."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        error = meaning_of(exc) if collision is None or not _is_unique(exc) else collision()
        if error is None:
            raise
        raise error from exc


def _is_unique(exc: IntegrityError) -> bool:
    return constraint_of(exc) in MEANING
