from __future__ import annotations

from sqlalchemy import select
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


def lock_organisation(session: Session, organisation_id: int) -> None:
    """Rules that count rows ("at least one admin", "at most one open offer per assignment",
    "one live feed per owner") hold under concurrency only if the requests that could break
    them take turns: each calls this first, then counts. The organisation row's lock lasts
    until the commit (SQLite has one writer anyway). FOR NO KEY UPDATE: every insert of the
    organisation's rows takes a key-share lock on it, and must not wait for these turns.

    Lock order: this comes first in a transaction, before any slot, waitlist or assignment
    row (assignments/service.py), so it cannot close a cycle with them."""
    session.execute(
        select(Organisation.id)
        .where(Organisation.id == organisation_id)
        .with_for_update(key_share=True)
    )
