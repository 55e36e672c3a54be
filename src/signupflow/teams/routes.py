from __future__ import annotations

from fastapi import APIRouter, Response, status

from signupflow.deps import API_PREFIX, DbSession, Member, Pagination, Scheduler
from signupflow.responses import json_page
from signupflow.schemas import Id, Page
from signupflow.teams import service
from signupflow.teams.schemas import TeamCreate, TeamRead, TeamUpdate

router = APIRouter(prefix=f"{API_PREFIX}/teams", tags=["teams"])


@router.get("", response_model=Page[TeamRead])
def list_teams(session: DbSession, actor: Member, page: Pagination) -> Response:
    items, total = service.list_teams(session, actor, limit=page.limit, offset=page.offset)
    return json_page(items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=TeamRead, status_code=status.HTTP_201_CREATED)
def create_team(session: DbSession, actor: Scheduler, data: TeamCreate) -> TeamRead:
    return TeamRead.model_validate(service.create_team(session, actor, data))


@router.get("/{team_id}", response_model=TeamRead)
def get_team(session: DbSession, actor: Member, team_id: Id) -> TeamRead:
    return TeamRead.model_validate(service.get_team(session, actor, team_id))


@router.patch("/{team_id}", response_model=TeamRead)
def update_team(session: DbSession, actor: Scheduler, team_id: Id, data: TeamUpdate) -> TeamRead:
    """Rename a team or replace its members (`member_ids`)."""
    return TeamRead.model_validate(service.update_team(session, actor, team_id, data))


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_team(session: DbSession, actor: Scheduler, team_id: Id) -> None:
    service.delete_team(session, actor, team_id)
