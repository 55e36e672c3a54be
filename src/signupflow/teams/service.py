from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.db.pagination import paginate
from signupflow.errors import Conflict, NotFound
from signupflow.people.models import Person
from signupflow.teams.models import Team
from signupflow.teams.schemas import TeamCreate, TeamUpdate
from signupflow.tenancy import get_scoped, scoped

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
) -> tuple[list[Team], int]:
    stmt = scoped(select(Team), Team, actor.organisation_id).options(*WITH_MEMBERS)
    return paginate(session, stmt.order_by(Team.name, Team.id), limit=limit, offset=offset)


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
