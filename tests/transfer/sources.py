"""SQLite SignUpFlow databases to migrate, built through the real app (its API, and its
service layer where the API offers no way in), plus bulk rows written straight into the file."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from signupflow.actor import Actor
from signupflow.app import create_app
from signupflow.assignments.models import Assignment, AssignmentSource, AssignmentStatus
from signupflow.audit.service import record
from signupflow.availability.models import TimeOff
from signupflow.db.session import unit_of_work
from signupflow.events.models import Event
from signupflow.organisations.models import Organisation
from signupflow.settings import Settings
from tests.factories import (
    PASSWORD,
    Org,
    add_event,
    add_person,
    invite_member,
    new_org,
    ok,
    unique,
)
from tests.support.settings import make_settings
from tests.support.signup import signup_body

LONG_TEXT = ("Ünïcödé ✓ שלום عربي 🎉 " * 2_000)[:10_000]  # the API's maximum
VERY_LONG_TEXT = "long text past any API limit 🙂 " * 2_000  # 64,000 characters
RTL = "שלום עולם — مرحبا بالعالم"
EMOJI = "👩🏽‍🚀 Zoë 🎶🇬🇧"  # a ZWJ sequence, a skin tone, a flag
NESTED_CHANGES: dict[str, Any] = {
    "before": {"name": "Åsa", "roles": ["usher", "greeter"], "active": True},
    "after": {"name": EMOJI, "roles": [], "active": False},
    "deep": {"a": {"b": {"c": [1, 2.5, -0.0001, None, True, False, {"d": RTL}]}}},
    "big_int": 2**62,
    "float": 0.1,
    "empty": {},
    "text": VERY_LONG_TEXT,
}


def sqlite_settings(path: Path, **overrides: object) -> Settings:
    return make_settings(f"sqlite:///{path}", **overrides)


@dataclass
class RichSource:
    """A database touching every table, with the API views a client saw before migration."""

    path: Path
    orgs: list[Org]
    views: dict[str, Any] = field(default_factory=dict)


def _iso(value: datetime) -> str:
    return value.isoformat()


def _dst_events(org: Org, team_id: int | None) -> list[dict[str, Any]]:
    """Events whose times straddle the clock changes of London and New York, created with
    offsets other than UTC and with microseconds."""
    bodies: list[dict[str, Any]] = [
        # London springs forward at 01:00 UTC on 2027-03-28.
        {
            "title": "Spring forward 🌸",
            "starts_at": "2027-03-28T00:30:00.000001+00:00",
            "ends_at": "2027-03-28T03:30:00+01:00",
        },
        # London falls back at 01:00 UTC on 2027-10-31: local 01:30 happens twice.
        {
            "title": "Fall back 🍂",
            "starts_at": "2027-10-31T01:30:00+01:00",
            "ends_at": "2027-10-31T01:30:00+00:00",
        },
        # New York falls back at 06:00 UTC on 2027-11-07.
        {
            "title": "New York fall back",
            "starts_at": "2027-11-07T01:59:59.999999-04:00",
            "ends_at": "2027-11-07T01:00:00-05:00",
        },
        {
            "title": "Kathmandu +05:45",
            "starts_at": "2028-02-29T23:59:00+05:45",
            "ends_at": "2028-03-01T02:00:00+05:45",
        },
    ]
    events = []
    for body in bodies:
        events.append(
            ok(
                org.post(
                    "/api/v1/events",
                    json={
                        **body,
                        "status": "published",
                        "team_id": team_id,
                        "slots": [{"role": "usher", "capacity": 3}],
                    },
                ),
                201,
            )
        )
    return events


def _populate(app: FastAPI, client: TestClient) -> list[Org]:
    london = new_org(client, timezone="Europe/London")
    jerusalem = new_org(client, timezone="Asia/Jerusalem")
    new_york = new_org(client, timezone="America/New_York")
    ok(london.patch("/api/v1/organisation", json={"name": f"Chœur {EMOJI}", "locale": "fr"}))
    ok(jerusalem.patch("/api/v1/organisation", json={"name": RTL}))
    # A sign-up whose link has not been followed yet (pending_signups, and its mail).
    waiting = unique("waiting")
    ok(
        client.post(
            "/api/v1/auth/signup",
            json=signup_body(waiting, f"{waiting}@example.org", PASSWORD, name=RTL),
        ),
        202,
    )

    people = [
        add_person(london, name=EMOJI, roles=["usher", "musician 🎻"]),
        add_person(london, name=RTL, roles=["usher"]),
        add_person(london, name="A\u030asa (combining ring)", roles=["usher"]),
        add_person(london, name="No roles at all", roles=[]),
    ]
    inactive = add_person(london, name="Inactive", roles=["usher"])
    ok(london.patch(f"/api/v1/people/{inactive['id']}", json={"active": False}))
    volunteer = invite_member(london, roles=["usher"])
    scheduler = invite_member(london, role="scheduler", roles=["usher"])
    invite_member(jerusalem, roles=["שירה"])
    pending = ok(
        london.post(
            "/api/v1/invitations",
            json={"email": "pending@example.org", "name": RTL, "role": "volunteer"},
        ),
        201,
    )
    revoked = ok(
        london.post(
            "/api/v1/invitations",
            json={"email": "revoked@example.org", "name": "Revoked", "role": "admin"},
        ),
        201,
    )
    assert london.delete(f"/api/v1/invitations/{revoked['id']}").status_code == 204
    assert pending["state"] == "pending"

    choir = ok(
        london.post(
            "/api/v1/teams",
            json={
                "name": "Choir 🎶",
                "description": LONG_TEXT,
                "member_ids": [people[0]["id"], people[1]["id"], inactive["id"]],
            },
        ),
        201,
    )
    ok(
        london.post(
            "/api/v1/teams",
            json={"name": "Welcome", "member_ids": [people[0]["id"], people[2]["id"]]},
        ),
        201,
    )
    ok(london.post("/api/v1/teams", json={"name": "Empty team"}), 201)

    events = _dst_events(london, choir["id"])
    draft = ok(
        london.post(
            "/api/v1/events",
            json={
                "title": RTL,
                "description": LONG_TEXT,
                "location": EMOJI,
                "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-01-01T12:00:00Z",
                "slots": [{"role": "usher", "capacity": 1}, {"role": "musician 🎻", "capacity": 2}],
            },
        ),
        201,
    )
    cancelled = ok(
        new_york.post(
            "/api/v1/events",
            json={
                "title": "Cancelled",
                "starts_at": "2027-03-14T06:59:59Z",
                "ends_at": "2027-03-14T07:00:01Z",
                "status": "cancelled",
            },
        ),
        201,
    )
    assert draft["team_id"] is None
    assert cancelled["status"] == "cancelled"

    me = ok(volunteer.get("/api/v1/me"))["person"]
    signed_up = ok(
        volunteer.post(f"/api/v1/events/{events[0]['id']}/signups", json={"role": "usher"}), 201
    )
    ok(scheduler.post(f"/api/v1/events/{events[1]['id']}/signups", json={"role": "usher"}), 201)
    assigned = ok(
        london.post(
            f"/api/v1/events/{events[0]['id']}/assignments",
            json={"person_id": people[1]["id"], "role": "usher"},
        ),
        201,
    )
    ok(
        london.post(
            f"/api/v1/events/{events[2]['id']}/assignments",
            json={"person_id": people[0]["id"], "role": "usher"},
        ),
        201,
    )
    # A waitlist, joined before the volunteer's availability leaves out the event's day.
    full = add_event(
        london, slots=[{"role": "usher", "capacity": 1}], starts_in=timedelta(days=900)
    )
    ok(
        london.post(
            f"/api/v1/events/{full['id']}/assignments",
            json={"person_id": people[2]["id"], "role": "usher"},
        ),
        201,
    )
    ok(volunteer.post(f"/api/v1/events/{full['id']}/waitlist", json={"role": "usher"}), 201)
    ok(
        volunteer.post(
            f"/api/v1/people/{me['id']}/availability",
            json={"weekday": 6, "start_time": "06:30", "end_time": "23:59:59.999999"},
        ),
        201,
    )
    ok(
        london.post(
            f"/api/v1/people/{people[0]['id']}/availability",
            json={"weekday": 0, "start_time": "00:00", "end_time": "00:00:00.000001"},
        ),
        201,
    )
    for starts, ends, reason in (
        ("2028-02-29", "2028-03-01", f"leap day {EMOJI}"),
        ("2200-12-31", "2200-12-31", RTL),
    ):
        ok(
            london.post(
                f"/api/v1/people/{people[0]['id']}/time-off",
                json={"starts_on": starts, "ends_on": ends, "reason": reason},
            ),
            201,
        )

    # The scheduling tables: a recurring series, a waitlist, a swap offer, a solver draft,
    # a calendar feed and a password reset (mail for each sits in the outbox).
    ok(
        london.post(
            "/api/v1/event-series",
            json={
                "title": f"Weekly {EMOJI}",
                "starts_at": "2031-03-29T09:00:00+01:00",
                "ends_at": "2031-03-29T11:00:00+01:00",
                "status": "published",
                "slots": [{"role": "usher", "capacity": 1}],
                "rrule": "FREQ=WEEKLY;COUNT=3",
            },
        ),
        201,
    )
    ok(
        volunteer.post(f"/api/v1/assignments/{signed_up['id']}/swap-offers", json={"note": RTL}),
        201,
    )
    ok(
        london.post(
            "/api/v1/schedules/solve",
            json={"starts_at": "2031-03-01T00:00:00Z", "ends_at": "2031-05-01T00:00:00Z"},
        ),
        201,
    )
    ok(volunteer.put("/api/v1/calendar/feeds/me"))
    reset = client.post("/api/v1/auth/password-reset", json={"email": scheduler.email})
    assert reset.status_code == 202, reset.text

    # Refresh tokens in each state: rotated (used_at), logged out (revoked_at), live.
    session_tokens = ok(
        client.post("/api/v1/auth/login", json={"email": volunteer.email, "password": PASSWORD})
    )
    ok(client.post("/api/v1/auth/refresh", json={"refresh_token": session_tokens["refresh_token"]}))
    ended = ok(
        client.post("/api/v1/auth/login", json={"email": scheduler.email, "password": PASSWORD})
    )
    assert (
        client.post(
            "/api/v1/auth/logout", headers={"Authorization": f"Bearer {ended['access_token']}"}
        ).status_code
        == 204
    )

    # What the API cannot write: the other assignment states and sources, an event description
    # longer than the API accepts, time off on the earliest day (the API refuses past days now;
    # older databases hold them), and audit entries with nested JSON and without an actor.
    with unit_of_work(app.state.session_factory) as session:
        session.add(
            TimeOff(
                organisation_id=london.id,
                person_id=people[0]["id"],
                starts_on=date(2000, 1, 1),
                ends_on=date(2000, 1, 1),
                reason="",
            )
        )
        session.execute(
            update(Assignment)
            .where(Assignment.id == signed_up["id"])
            .values(status=AssignmentStatus.CONFIRMED)
        )
        session.execute(
            update(Assignment)
            .where(Assignment.id == assigned["id"])
            .values(status=AssignmentStatus.DECLINED, source=AssignmentSource.SOLVER)
        )
        session.execute(
            update(Event).where(Event.id == draft["id"]).values(description=VERY_LONG_TEXT)
        )
        record(
            session,
            Actor.system(session.get_one(Organisation, london.id)),
            action="import",
            entity="organisation",
            entity_id=None,
            changes=NESTED_CHANGES,
        )
        record(
            session,
            Actor.system(session.get_one(Organisation, jerusalem.id)),
            action="note",
            entity="organisation",
            entity_id=jerusalem.id,
            changes={"list": [RTL, EMOJI], "nothing": None},
        )
    return [london, jerusalem, new_york]


def views(orgs: list[Org]) -> dict[str, Any]:
    """Everything the API shows each organisation's admin, keyed by organisation and path."""
    seen: dict[str, Any] = {}

    def get(org: Org, path: str) -> Any:
        body = ok(org.get(path))
        seen[f"{org.slug} {path}"] = body
        return body

    for org in orgs:
        get(org, "/api/v1/organisation")
        get(org, "/api/v1/me")
        people = get(org, "/api/v1/people?limit=500")["items"]
        for person in people:
            get(org, f"/api/v1/people/{person['id']}/availability")
        events = get(org, "/api/v1/events?limit=500")["items"]
        for event in events:
            get(org, f"/api/v1/events/{event['id']}")
            get(org, f"/api/v1/events/{event['id']}/assignments?limit=500")
        for team in get(org, "/api/v1/teams?limit=500")["items"]:
            get(org, f"/api/v1/teams/{team['id']}")
        get(org, "/api/v1/invitations?limit=500")
        get(org, "/api/v1/assignments?limit=500")
        get(org, "/api/v1/audit?limit=500")
    return seen


def build_rich_source(path: Path) -> RichSource:
    app = create_app(sqlite_settings(path))
    with TestClient(app, raise_server_exceptions=True) as client:
        orgs = _populate(app, client)
        source = RichSource(path=path, orgs=orgs, views=views(orgs))
    return source


def build_bulk_source(path: Path, *, audit_rows: int) -> None:
    """A small app-made database plus `audit_rows` audit entries inserted straight into the
    file (the app made the schema; executemany makes the volume quick)."""
    with TestClient(create_app(sqlite_settings(path))) as client:
        org = new_org(client)
        for index in range(20):
            add_person(org, name=f"Volunteer {index} {EMOJI}")
    created = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)
    with sqlite3.connect(path) as connection:
        (actor,) = connection.execute("SELECT min(id) FROM users").fetchone()
    connection.close()
    rows = [
        (
            org.id,
            None if index % 3 else actor,
            "bulk",
            "person",
            index,
            json.dumps({"index": index, "name": EMOJI, "nested": {"values": [index, 0.5, None]}}),
            (created + timedelta(seconds=index)).strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
        for index in range(audit_rows)
    ]
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO audit_log "
            "(organisation_id, actor_user_id, action, entity, entity_id, changes, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    connection.close()


def build_small_source(path: Path, *, names: list[str]) -> None:
    """One organisation with a person per name, made through the API."""
    with TestClient(create_app(sqlite_settings(path))) as client:
        org = new_org(client)
        for name in names:
            add_person(org, name=name)
