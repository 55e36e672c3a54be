from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from signupflow.deps import API_PREFIX, Admin, DbSession, Pagination, Scheduler
from signupflow.people import csv_io, service
from signupflow.people.errors import CsvTooLarge, UnsupportedMediaType
from signupflow.people.schemas import (
    ImportResultRead,
    MemberRoleUpdate,
    PersonCreate,
    PersonRead,
    PersonUpdate,
)
from signupflow.responses import json_page
from signupflow.schemas import Id, Page, RoleName, SearchText

router = APIRouter(prefix=f"{API_PREFIX}/people", tags=["people"])


@router.get("", response_model=Page[PersonRead])
def list_people(
    session: DbSession,
    actor: Scheduler,
    page: Pagination,
    q: Annotated[
        SearchText | None, Query(max_length=200, description="Name or e-mail contains")
    ] = None,
    role: Annotated[RoleName | None, Query(description="Can fill this role")] = None,
    active: bool | None = None,
    team_id: Annotated[Id | None, Query(description="Members of this team")] = None,
) -> Response:
    """People of your organisation, by name. Schedulers and admins only."""
    items, total = service.list_people(
        session,
        actor,
        q=q,
        role=role,
        active=active,
        team_id=team_id,
        limit=page.limit,
        offset=page.offset,
    )
    return json_page(
        items,
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=PersonRead, status_code=status.HTTP_201_CREATED)
def create_person(session: DbSession, actor: Scheduler, data: PersonCreate) -> PersonRead:
    """Add someone who can be scheduled. They get a login only when invited."""
    return PersonRead.model_validate(service.create_person(session, actor, data))


CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")


async def csv_body(request: Request) -> bytes:
    """The raw request body, refused once it passes the size limit (never read whole into
    memory first). Async so the route itself stays a plain `def` with the session."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        raise UnsupportedMediaType("send the file as text/csv", code="csv.media_type")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > csv_io.MAX_BYTES:
            raise CsvTooLarge(csv_io.MAX_BYTES)
    return bytes(received)


# Registered before /{person_id}, which would otherwise claim these paths.
@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "People as CSV"}},
)
def export_people(session: DbSession, actor: Admin) -> Response:
    """Everyone in the organisation as CSV (UTF-8 with BOM; formulas neutralised)."""
    body = csv_io.export_csv(session, actor.organisation_id)
    filename = f"people-{actor.organisation.slug}.csv"
    return Response(
        content=body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/import",
    response_model=ImportResultRead,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def import_people(
    session: DbSession,
    actor: Admin,
    body: Annotated[bytes, Depends(csv_body)],
    dry_run: Annotated[bool, Query(description="Check and count only; write nothing")] = False,
) -> ImportResultRead:
    """Create or update people (matched by e-mail) from CSV with columns name, email and
    optionally roles (separated by ;), language, active, member_role. All or nothing: any bad
    row answers 422 listing every error by line and column, and nothing is written."""
    result = csv_io.import_csv(session, actor, body, dry_run=dry_run)
    return ImportResultRead(
        dry_run=result.dry_run,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )


@router.get("/{person_id}", response_model=PersonRead)
def get_person(session: DbSession, actor: Scheduler, person_id: Id) -> PersonRead:
    return PersonRead.model_validate(service.get_person(session, actor, person_id))


@router.patch("/{person_id}", response_model=PersonRead)
def update_person(
    session: DbSession, actor: Scheduler, person_id: Id, data: PersonUpdate
) -> PersonRead:
    return PersonRead.model_validate(service.update_person(session, actor, person_id, data))


@router.put("/{person_id}/member-role", response_model=PersonRead)
def set_member_role(
    session: DbSession, actor: Admin, person_id: Id, data: MemberRoleUpdate
) -> PersonRead:
    """Make a member an admin, scheduler or volunteer. The last admin cannot step down."""
    person = service.set_member_role(session, actor, person_id, data.role)
    return PersonRead.model_validate(person)


@router.delete("/{person_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_person(session: DbSession, actor: Admin, person_id: Id) -> None:
    """Remove a person with their assignments, availability and membership."""
    service.delete_person(session, actor, person_id)
