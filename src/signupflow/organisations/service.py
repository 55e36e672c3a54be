from __future__ import annotations

from sqlalchemy.orm import Session

from signupflow.audit.service import record
from signupflow.deps import Principal
from signupflow.organisations.models import Organisation
from signupflow.organisations.schemas import OrganisationUpdate


def update_organisation(
    session: Session, principal: Principal, data: OrganisationUpdate
) -> Organisation:
    organisation = session.get_one(Organisation, principal.organisation_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for field, value in changes.items():
        setattr(organisation, field, value)
    record(
        session,
        organisation_id=organisation.id,
        actor_user_id=principal.user_id,
        action="update",
        entity="organisation",
        entity_id=organisation.id,
        changes=changes,
    )
    session.flush()
    return organisation
