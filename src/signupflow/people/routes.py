from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from signupflow.deps import API_PREFIX, Admin, DbSession, Pagination, Scheduler
from signupflow.people import service
from signupflow.people.schemas import MemberRoleUpdate, PersonCreate, PersonRead, PersonUpdate
from signupflow.schemas import Id, Page, RoleName, SearchText

router = APIRouter(prefix=f"{API_PREFIX}/people", tags=["people"])


@router.get("", response_model=Page[PersonRead])
def list_people(
    session: DbSession,
    principal: Scheduler,
    page: Pagination,
    q: Annotated[
        SearchText | None, Query(max_length=200, description="Name or e-mail contains")
    ] = None,
    role: Annotated[RoleName | None, Query(description="Can fill this role")] = None,
    active: bool | None = None,
) -> Page[PersonRead]:
    """People of your organisation, by name. Schedulers and admins only."""
    items, total = service.list_people(
        session, principal, q=q, role=role, active=active, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[PersonRead.model_validate(p) for p in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=PersonRead, status_code=status.HTTP_201_CREATED)
def create_person(session: DbSession, principal: Scheduler, data: PersonCreate) -> PersonRead:
    """Add someone who can be scheduled. They get a login only when invited."""
    return PersonRead.model_validate(service.create_person(session, principal, data))


@router.get("/{person_id}", response_model=PersonRead)
def get_person(session: DbSession, principal: Scheduler, person_id: Id) -> PersonRead:
    return PersonRead.model_validate(service.get_person(session, principal, person_id))


@router.patch("/{person_id}", response_model=PersonRead)
def update_person(
    session: DbSession, principal: Scheduler, person_id: Id, data: PersonUpdate
) -> PersonRead:
    return PersonRead.model_validate(service.update_person(session, principal, person_id, data))


@router.put("/{person_id}/member-role", response_model=PersonRead)
def set_member_role(
    session: DbSession, principal: Admin, person_id: Id, data: MemberRoleUpdate
) -> PersonRead:
    """Make a member an admin, scheduler or volunteer. The last admin cannot step down."""
    person = service.set_member_role(session, principal, person_id, data.role)
    return PersonRead.model_validate(person)


@router.delete("/{person_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_person(session: DbSession, principal: Admin, person_id: Id) -> None:
    """Remove a person with their assignments, availability and membership."""
    service.delete_person(session, principal, person_id)
