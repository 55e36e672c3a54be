from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.db.id_lists import among_ids
from signupflow.db.pagination import paginate_rows, values_by_id
from signupflow.errors import Conflict, NotFound
from signupflow.people.models import Person
from signupflow.teams.models import Team, team_members
from signupflow.teams.schemas import TeamCreate, TeamUpdate
from signupflow.tenancy import ORGANISATION, get_scoped, scoped

WITH_MEMBERS = (selectinload(Team.members),)


def _people(session: Session, actor: Actor, ids: list[int]) -> list[Person]:
    wanted = set(ids)
    found = session.scalars(
        scoped(select(Person).where(Person.id.in_(wanted)), Person, actor.organisation_id)
    ).all()
    missing = wanted - {p.id for p in found}
    if missing:
        raise NotFound(
            f"people not found: {sorted(missing)}",
            code="team.people_not_found",
            params={"ids": sorted(missing)},
        )
    return sorted(found, key=lambda p: p.id)


def _name_taken(session: Session, actor: Actor, name: str, exclude: int | None) -> bool:
    stmt = scoped(select(Team.id).where(Team.name == name), Team, actor.organisation_id)
    if exclude is not None:
        stmt = stmt.where(Team.id != exclude)
    return session.scalar(stmt) is not None


def get_team(session: Session, actor: Actor, team_id: int, *, for_change: bool = False) -> Team:
    return get_scoped(
        session,
        Team,
        team_id,
        actor.organisation_id,
        options=WITH_MEMBERS,
        for_change=for_change,
    )


def list_teams(
    session: Session, actor: Actor, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of teams (TeamRead's fields in its order) and the number in all pages. Two
    statements whatever the page's size, each of fixed text."""
    rows, total = paginate_rows(
        session,
        _teams_page(),
        limit=limit,
        offset=offset,
        params={"organisation_id": actor.organisation_id},
    )
    members = values_by_id(session, _members_of_teams(), [row[0] for row in rows])
    teams = [
        {
            "id": id_,
            "name": name,
            "description": description,
            "member_ids": members[id_],
            "created_at": created_at,
        }
        for id_, name, description, created_at, _total in rows
    ]
    return teams, total


@functools.cache
def _teams_page() -> Select[int, str, str, Any]:
    stmt = select(Team.id, Team.name, Team.description, Team.created_at)
    return scoped(stmt, Team, ORGANISATION).order_by(Team.name, Team.id)


@functools.cache
def _members_of_teams() -> Select[int, int]:
    # The teams were scoped to the organisation by the page; so are their members.
    return (
        select(team_members.c.team_id, team_members.c.person_id)
        .where(among_ids(team_members.c.team_id, "ids"))
        .order_by(team_members.c.team_id, team_members.c.person_id)
    )


def create_team(session: Session, actor: Actor, data: TeamCreate) -> Team:
    if _name_taken(session, actor, data.name, None):
        raise Conflict(
            f"a team named '{data.name}' exists", code="team.name_taken", params={"name": data.name}
        )
    team = Team(
        organisation_id=actor.organisation_id,
        name=data.name,
        description=data.description,
        members=_people(session, actor, data.member_ids),
    )
    session.add(team)
    session.flush()
    record(
        session,
        actor,
        action="create",
        entity="team",
        entity_id=team.id,
        changes=data.model_dump(),
    )
    return team


def update_team(session: Session, actor: Actor, team_id: int, data: TeamUpdate) -> Team:
    team = get_team(session, actor, team_id, for_change=True)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if data.name is not None:
        if _name_taken(session, actor, data.name, team.id):
            raise Conflict(
                f"a team named '{data.name}' exists",
                code="team.name_taken",
                params={"name": data.name},
            )
        team.name = data.name
    if data.description is not None:
        team.description = data.description
    if data.member_ids is not None:
        team.members = _people(session, actor, data.member_ids)
    session.flush()
    record(
        session,
        actor,
        action="update",
        entity="team",
        entity_id=team.id,
        changes=changes,
    )
    return team


def delete_team(session: Session, actor: Actor, team_id: int) -> None:
    team = get_team(session, actor, team_id, for_change=True)
    session.delete(team)
    record(
        session,
        actor,
        action="delete",
        entity="team",
        entity_id=team_id,
        changes={"name": team.name},
    )
    session.flush()
