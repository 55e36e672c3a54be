from __future__ import annotations

from fastapi import APIRouter

from signupflow.auth.models import User
from signupflow.deps import API_PREFIX, Admin, DbSession, Member
from signupflow.organisations import service
from signupflow.organisations.schemas import Me, OrganisationRead, OrganisationUpdate
from signupflow.people import service as people
from signupflow.people.schemas import PersonRead, ProfileUpdate

router = APIRouter(prefix=API_PREFIX, tags=["organisation"])


@router.get("/organisation", response_model=OrganisationRead)
def get_organisation(actor: Member) -> OrganisationRead:
    """The organisation you are acting in."""
    return OrganisationRead.model_validate(actor.organisation)


@router.patch("/organisation", response_model=OrganisationRead)
def update_organisation(
    session: DbSession, actor: Admin, data: OrganisationUpdate
) -> OrganisationRead:
    return OrganisationRead.model_validate(service.update_organisation(session, actor, data))


def _me(session: DbSession, actor: Member) -> Me:
    user = session.get_one(User, actor.user_id)
    person = (
        PersonRead.model_validate(people.get_person(session, actor, actor.person_id))
        if actor.person_id is not None
        else None
    )
    return Me(
        user_id=user.id,
        email=user.email,
        role=actor.role,
        organisation=OrganisationRead.model_validate(actor.organisation),
        person=person,
    )


@router.get("/me", response_model=Me)
def get_me(session: DbSession, actor: Member) -> Me:
    """Who you are, your role and your volunteer profile."""
    return _me(session, actor)


@router.patch("/me", response_model=Me)
def update_me(session: DbSession, actor: Member, data: ProfileUpdate) -> Me:
    """Change your own name or language."""
    if actor.person_id is not None:
        people.update_person(session, actor, actor.person_id, data)
    return _me(session, actor)
