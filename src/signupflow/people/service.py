"""People of an organisation: their profile, the roles they can fill, their membership role."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import Session, selectinload

from signupflow.actor import Actor
from signupflow.assignments.ledger import fill_places_waited_for, release_all_for_person
from signupflow.audit.service import record
from signupflow.db.id_lists import among_ids
from signupflow.db.pagination import given_filters, paginate_rows, values_by_id
from signupflow.db.search import contains_text
from signupflow.errors import Conflict, NotFound
from signupflow.organisations.service import lock_organisation
from signupflow.people.models import MemberRole, Membership, Person, PersonSkill
from signupflow.people.schemas import PersonCreate, PersonUpdate, ProfileUpdate
from signupflow.teams.models import team_members
from signupflow.tenancy import ORGANISATION, get_scoped, scoped

WITH_SKILLS = (selectinload(Person.skills),)
SCHEDULING_FIELDS = (
    "max_per_week",
    "max_per_month",
    "min_rest_hours",
    "preferred_roles",
    "avoid_weekdays",
)


def get_person(
    session: Session, actor: Actor, person_id: int, *, for_change: bool = False
) -> Person:
    return get_scoped(
        session,
        Person,
        person_id,
        actor.organisation_id,
        options=WITH_SKILLS,
        for_change=for_change,
    )


def _email_taken(
    session: Session, organisation_id: int, email: str, *, exclude: int | None
) -> bool:
    stmt = scoped(select(Person.id).where(Person.email == email), Person, organisation_id)
    if exclude is not None:
        stmt = stmt.where(Person.id != exclude)
    return session.scalar(stmt) is not None


def _set_roles(person: Person, roles: list[str]) -> None:
    wanted = sorted(set(roles))
    person.skills = [PersonSkill(role=role) for role in wanted]


def create_person(session: Session, actor: Actor, data: PersonCreate) -> Person:
    if _email_taken(session, actor.organisation_id, data.email, exclude=None):
        raise Conflict(
            f"{data.email} is already a member of this organisation",
            code="person.email_taken",
            params={"email": data.email},
        )
    person = Person(
        organisation_id=actor.organisation_id,
        name=data.name,
        email=data.email,
        language=data.language,
        active=data.active,
        skills=[],
    )
    _set_roles(person, data.roles)
    session.add(person)
    session.flush()
    record(
        session,
        actor,
        action="create",
        entity="person",
        entity_id=person.id,
        changes={"name": data.name, "roles": sorted(set(data.roles))},
    )
    return person


# What a listing shows of a person: columns, not entities, in PersonRead's order (`roles`
# comes from the skills).
PERSON_COLUMNS = (
    Person.id,
    Person.name,
    Person.email,
    Person.language,
    Person.active,
    Person.user_id.is_not(None).label("has_login"),
    Person.max_per_week,
    Person.max_per_month,
    Person.min_rest_hours,
    Person.preferred_roles,
    Person.avoid_weekdays,
    Person.created_at,
)


def list_people(
    session: Session,
    actor: Actor,
    *,
    q: str | None,
    role: str | None,
    active: bool | None,
    limit: int,
    offset: int,
    team_id: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of people (PersonRead's fields in its order) and the number in all pages. Two
    statements whatever the page's size."""
    filters, params = given_filters(
        actor.organisation_id, role=role or None, active=active, team_id=team_id
    )
    stmt = _people_page(filters=filters)
    if q:  # searched text is escaped into the statement: built for this request
        stmt = stmt.where(contains_text(Person.name, q) | contains_text(Person.email, q))
    rows, total = paginate_rows(session, stmt, limit=limit, offset=offset, params=params)
    roles = values_by_id(session, _skills_of_people(), [row[0] for row in rows])
    people = [
        {
            "id": id_,
            "name": name,
            "email": email,
            "language": language,
            "active": is_active,
            "roles": roles[id_],
            "has_login": has_login,
            "max_per_week": max_per_week,
            "max_per_month": max_per_month,
            "min_rest_hours": min_rest_hours,
            "preferred_roles": preferred_roles,
            "avoid_weekdays": avoid_weekdays,
            "created_at": created_at,
        }
        for (
            id_,
            name,
            email,
            language,
            is_active,
            has_login,
            max_per_week,
            max_per_month,
            min_rest_hours,
            preferred_roles,
            avoid_weekdays,
            created_at,
            _total,
        ) in rows
    ]
    return people, total


@functools.cache
def _people_page(*, filters: frozenset[str]) -> Select[*tuple[Any, ...]]:
    stmt = scoped(select(*PERSON_COLUMNS), Person, ORGANISATION)
    if "role" in filters:
        stmt = stmt.where(Person.skills.any(PersonSkill.role == bindparam("role")))
    if "active" in filters:
        stmt = stmt.where(Person.active == bindparam("active"))
    if "team_id" in filters:  # the people are the organisation's: so are their teams
        members = select(team_members.c.person_id).where(
            team_members.c.team_id == bindparam("team_id")
        )
        stmt = stmt.where(Person.id.in_(members))
    return stmt.order_by(Person.name, Person.id)


@functools.cache
def _skills_of_people() -> Select[int, str]:
    # Skills hang off people the page has already scoped to the organisation.
    return (
        select(PersonSkill.person_id, PersonSkill.role)
        .where(among_ids(PersonSkill.person_id, "ids"))
        .order_by(PersonSkill.person_id, PersonSkill.role)
    )


def update_person(
    session: Session, actor: Actor, person_id: int, data: PersonUpdate | ProfileUpdate
) -> Person:
    person = get_person(session, actor, person_id, for_change=True)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("email") and _email_taken(
        session, actor.organisation_id, changes["email"], exclude=person.id
    ):
        raise Conflict(
            f"{changes['email']} is already a member of this organisation",
            code="person.email_taken",
            params={"email": changes["email"]},
        )
    for field in ("name", "email", "language", "active"):
        if changes.get(field) is not None:
            setattr(person, field, changes[field])
    if changes.get("roles") is not None:
        _set_roles(person, changes["roles"])
    for field in SCHEDULING_FIELDS:
        if field in changes:  # null is meaningful here: no limit
            value = changes[field]
            setattr(person, field, sorted(set(value)) if isinstance(value, list) else value)
    session.flush()
    if changes.get("active") or changes.get("roles") is not None:
        fill_places_waited_for(session, actor, person.id)  # they may qualify again
    record(
        session,
        actor,
        action="update",
        entity="person",
        entity_id=person.id,
        changes=changes,
    )
    return person


def _membership_of(session: Session, actor: Actor, person: Person) -> Membership:
    if person.user_id is None:
        raise NotFound("this person has no login; invite them first", code="person.no_login")
    membership = session.scalars(
        scoped(
            select(Membership).where(Membership.user_id == person.user_id),
            Membership,
            actor.organisation_id,
        ).execution_options(populate_existing=True)  # as committed, not as first read
    ).one_or_none()
    if membership is None:
        raise NotFound("this person is not a member", code="person.not_member")
    return membership


def _ensure_another_admin(session: Session, actor: Actor, membership: Membership) -> None:
    """At least one admin stays. Callers hold `lock_organisation` and read `membership`
    after taking it: two admins demoting (or deleting) each other at once take turns, and
    the second one counts what the first one left."""
    if membership.role != MemberRole.ADMIN:
        return
    admins = session.scalar(
        scoped(
            select(func.count()).select_from(Membership), Membership, actor.organisation_id
        ).where(Membership.role == MemberRole.ADMIN)
    )
    if (admins or 0) <= 1:
        raise Conflict(
            "an organisation must keep at least one admin", code="organisation.last_admin"
        )


def set_member_role(session: Session, actor: Actor, person_id: int, role: MemberRole) -> Person:
    lock_organisation(session, actor.organisation_id)
    person = get_person(session, actor, person_id, for_change=True)
    membership = _membership_of(session, actor, person)
    if role != MemberRole.ADMIN:
        _ensure_another_admin(session, actor, membership)
    membership.role = role
    record(
        session,
        actor,
        action="set_role",
        entity="person",
        entity_id=person.id,
        changes={"role": role.value},
    )
    return person


def delete_person(session: Session, actor: Actor, person_id: int) -> None:
    """Removes the person, their assignments and availability, and their membership."""
    lock_organisation(session, actor.organisation_id)
    person = get_person(session, actor, person_id, for_change=True)
    if person.user_id is not None:
        membership = _membership_of(session, actor, person)
        _ensure_another_admin(session, actor, membership)
        session.execute(delete(Membership).where(Membership.id == membership.id))
    release_all_for_person(session, actor, person.id)
    session.delete(person)
    record(
        session,
        actor,
        action="delete",
        entity="person",
        entity_id=person_id,
        changes={"name": person.name},
    )
    session.flush()
