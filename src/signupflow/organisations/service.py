from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.audit.service import record
from signupflow.organisations.models import Organisation
from signupflow.organisations.schemas import OrganisationUpdate


def update_organisation(session: Session, actor: Actor, data: OrganisationUpdate) -> Organisation:
    organisation = session.get_one(Organisation, actor.organisation_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for field, value in changes.items():
        setattr(organisation, field, value)
    record(
        session,
        actor,
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
    them take turns: each calls this first, then reads and counts. The lock is a write that
    changes nothing, held until the commit: the organisation row's lock on PostgreSQL (one
    that does not touch a key, so inserts of the organisation's rows, which key-share lock
    it, never wait for these turns), the write lock on SQLite, where reads before a
    transaction's first write see no lock at all.

    Lock order: this is a transaction's first write, before any slot, waitlist or assignment
    row (assignments/ledger.py), so it cannot close a cycle with them."""
    session.execute(
        update(Organisation)
        .where(Organisation.id == organisation_id)
        .values(name=Organisation.name)
    )
