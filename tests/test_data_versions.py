"""Organisation data versions (organisations/data_versions.py): every session of the app's
factory gives the organisations it wrote to a new version just before its outermost commit,
from the rows its flushes write and from its UPDATE, DELETE and INSERT statements, and
leaves every other organisation's version alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, Table, delete, event, insert, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from signupflow.auth.models import User
from signupflow.db.base import Base
from signupflow.db.session import unit_of_work
from signupflow.events.models import Event, EventSlot
from signupflow.organisations.data_versions import (
    UNSHOWN,
    UnclassifiedTable,
    current_version,
    owner_key,
)
from signupflow.organisations.models import Organisation
from signupflow.people.models import MemberRole, Membership, Person, PersonSkill
from signupflow.teams.models import Team
from tests.factories import Org, add_event, add_person, new_org, unique


@pytest.fixture
def factory(client: TestClient) -> sessionmaker[Session]:
    made: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    return made


@pytest.fixture
def orgs(client: TestClient) -> tuple[Org, Org]:
    return new_org(client), new_org(client)


def versions(factory: sessionmaker[Session], *organisations: Org) -> list[str]:
    with unit_of_work(factory) as session:
        return [current_version(session, org.id) for org in organisations]


BUMP = "INSERT INTO organisation_data_versions"


@contextmanager
def statements(factory: sessionmaker[Session]) -> Iterator[list[tuple[str, Any]]]:
    engine = factory.kw["bind"]
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((" ".join(statement.split()), parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def values(parameters: Any) -> list[Any]:
    return list(parameters.values()) if isinstance(parameters, dict) else list(parameters)


def test_every_table_is_tracked_or_said_to_be_shown_by_no_read() -> None:
    for table in Base.metadata.sorted_tables:
        if table.name not in UNSHOWN:
            owner_key(table)


def test_a_table_nobody_classified_is_refused() -> None:
    stray = Table("stray", MetaData(), Column("id", Integer, primary_key=True))
    with pytest.raises(UnclassifiedTable, match="stray"):
        owner_key(stray)


def test_a_version_is_made_with_the_organisation(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    first, second = versions(factory, *orgs)
    assert re.fullmatch(r"\d+", first), first
    assert first != second


def test_reading_leaves_the_version(factory: sessionmaker[Session], orgs: tuple[Org, Org]) -> None:
    org, _ = orgs
    before = versions(factory, org)
    with unit_of_work(factory) as session:
        session.scalars(select(Event).where(Event.organisation_id == org.id)).all()
    assert versions(factory, org) == before


def test_rows_a_flush_inserts_updates_and_deletes_each_change_the_version(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    org, other = orgs
    seen = [versions(factory, org, other)]
    with unit_of_work(factory) as session:
        team = Team(organisation_id=org.id, name="Choir")
        session.add(team)
    seen.append(versions(factory, org, other))
    with unit_of_work(factory) as session:
        session.get_one(Team, team.id).description = "Sundays"
    seen.append(versions(factory, org, other))
    with unit_of_work(factory) as session:
        session.delete(session.get_one(Team, team.id))
    seen.append(versions(factory, org, other))
    assert len({mine for mine, _ in seen}) == 4
    assert {theirs for _, theirs in seen} == {seen[0][1]}


def test_a_rolled_back_write_leaves_the_version(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    org, _ = orgs
    before = versions(factory, org)
    session = factory()
    try:
        session.add(Team(organisation_id=org.id, name="Never"))
        session.flush()
        session.rollback()
        session.commit()  # nothing left to write: nothing to bump
    finally:
        session.close()
    assert versions(factory, org) == before


def test_a_persons_roles_and_a_teams_members_change_the_version(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    org, _ = orgs
    person = add_person(org, roles=["usher"])
    before = versions(factory, org)
    with unit_of_work(factory) as session:
        held = session.scalars(
            select(Person).where(Person.id == person["id"]).options(selectinload(Person.skills))
        ).one()
        held.skills = [PersonSkill(role="greeter")]
    after_roles = versions(factory, org)
    with unit_of_work(factory) as session:
        team = Team(organisation_id=org.id, name="Greeters")
        session.add(team)
    after_team = versions(factory, org)
    with unit_of_work(factory) as session:
        loaded = session.scalars(
            select(Team).where(Team.id == team.id).options(selectinload(Team.members))
        ).one()
        loaded.members = [session.get_one(Person, person["id"])]
    assert len({*before, *after_roles, *after_team, *versions(factory, org)}) == 4


def test_a_user_change_changes_every_organisation_they_belong_to(
    factory: sessionmaker[Session], orgs: tuple[Org, Org], client: TestClient
) -> None:
    org, other = orgs
    bystander = new_org(client)
    with unit_of_work(factory) as session:
        user_id = session.scalars(select(User.id).where(User.email == org.email)).one()
        session.add(
            Membership(organisation_id=other.id, user_id=user_id, role=MemberRole.VOLUNTEER)
        )
    before = versions(factory, org, other, bystander)
    with unit_of_work(factory) as session:
        session.get_one(User, user_id).token_version += 1
    after = versions(factory, org, other, bystander)
    assert [b != a for b, a in zip(before, after, strict=True)] == [True, True, False]


def test_statements_change_the_version_of_the_organisations_they_write_to(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    org, other = orgs
    mine = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    add_event(other, slots=[{"role": "usher", "capacity": 2}])
    person = add_person(org, roles=["usher"])
    place = unique("hall")
    cases = [
        # By the row's id (the seat ledger's conditional UPDATEs).
        update(EventSlot)
        .where(EventSlot.id == mine["slots"][0]["id"], EventSlot.filled < EventSlot.capacity)
        .values(filled=EventSlot.filled),
        # By a parent row's id.
        delete(PersonSkill).where(PersonSkill.person_id == person["id"]),
        update(EventSlot).where(EventSlot.event_id.in_([mine["id"]])).values(capacity=3),
        # By the organisation.
        update(Event).where(Event.organisation_id == org.id).values(location=place),
        # By neither: the rows the whole condition matches.
        update(Event).where(Event.location == place).values(location=f"{place}!"),
    ]
    for statement in cases:
        before = versions(factory, org, other)
        with unit_of_work(factory) as session:
            session.execute(statement)
        after = versions(factory, org, other)
        assert (after[0] != before[0], after[1] == before[1]) == (True, True), statement


def test_a_statement_matching_nothing_leaves_every_version(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    before = versions(factory, *orgs)
    with unit_of_work(factory) as session:
        session.execute(update(Event).where(Event.title == "no such event").values(location="x"))
    assert versions(factory, *orgs) == before


def test_an_insert_statement_names_its_organisation_or_is_refused(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    org, other = orgs
    before = versions(factory, org, other)
    with unit_of_work(factory) as session:
        session.execute(insert(Team).values(organisation_id=org.id, name="Inserted"))
    after = versions(factory, org, other)
    assert (after[0] != before[0], after[1] == before[1]) == (True, True)
    with (
        pytest.raises(RuntimeError, match="without organisation_id"),
        unit_of_work(factory) as session,
    ):
        session.execute(insert(Team), [{"name": "Nameless"}])


def test_the_version_is_written_last_once_per_organisation_in_id_order(
    factory: sessionmaker[Session], orgs: tuple[Org, Org]
) -> None:
    """Taken as late as possible, the version row's lock is held only for the commit; two
    transactions writing to the same organisations take their locks in the same order."""
    first, second = sorted(orgs, key=lambda o: o.id)
    with statements(factory) as seen, unit_of_work(factory) as session:
        session.add(Team(organisation_id=second.id, name="Late"))
        with session.begin_nested():  # a savepoint's release does not bump
            session.add(Team(organisation_id=first.id, name="Early"))
        session.execute(
            update(Team).where(Team.organisation_id == second.id).values(description="x")
        )
    bumps = [i for i, (sql, _) in enumerate(seen) if sql.startswith(BUMP)]
    assert bumps == [len(seen) - 2, len(seen) - 1]
    bumped = [values(seen[i][1]) for i in bumps]
    assert [first.id in bumped[0], second.id in bumped[1]] == [True, True]


def test_deleting_an_organisation_writes_no_version(
    factory: sessionmaker[Session], client: TestClient
) -> None:
    doomed = new_org(client)
    with unit_of_work(factory) as session:
        session.execute(delete(Organisation).where(Organisation.id == doomed.id))
    with unit_of_work(factory) as session:
        assert current_version(session, doomed.id) == ""
