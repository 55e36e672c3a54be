"""Every write operation of the API, sent ten times at once (and together with its inverse
where it has one) against a real server, on PostgreSQL and on SQLite: no answer is a 5xx,
every error is problem+json, and the organisation's invariants hold afterwards (places
counted exactly and within capacity, at least one admin, one place per person and event,
nobody both placed and waiting, at most one open offer per assignment, one live calendar feed
per owner).

The operations come from the OpenAPI document: a route added without a race case here fails
`test_every_write_operation_has_a_race_case`. Each case builds its own organisation through
the factories, so cases never see each other's rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signupflow.assignments.ledger import ACTIVE
from signupflow.assignments.models import Assignment, WaitlistEntry
from signupflow.auth.tokens import digest, new_opaque_token
from signupflow.calendar.models import CalendarFeed
from signupflow.db.session import unit_of_work
from signupflow.events.models import EventSlot
from signupflow.invitations.models import Invitation
from signupflow.organisations.models import Organisation
from signupflow.password_reset.models import PasswordReset
from signupflow.people.models import MemberRole, Membership, Person
from signupflow.swaps.models import SwapRequest, SwapState
from signupflow.tenancy import scoped
from tests.factories import (
    PASSWORD,
    Org,
    add_event,
    add_person,
    invite_member,
    new_org,
    ok,
    person_id_of,
    signup_token,
    unique,
)
from tests.support.concurrency import Call, all_at_once
from tests.support.settings import BACKEND
from tests.support.signup import signup_body

API = "/api/v1"
TIMES = 10  # identical requests per operation in one burst
WRITES = ("post", "put", "patch", "delete")

Answers = list[tuple[int, Any]]


@dataclass
class Race:
    """Calls released together; `org_ids` are the organisations whose invariants must hold
    afterwards; `expect` checks the answers (statuses beyond "no 5xx", winners)."""

    calls: list[Call]
    org_ids: list[int]
    expect: Callable[[Answers], None] | None = None


Build = Callable[[TestClient], Race]
CASES: dict[str, Build] = {}
COVERED: dict[str, str] = {}  # "METHOD /path" -> the case that races it


def races(*operations: str) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        for operation in operations:
            assert operation not in COVERED, f"{operation} is raced twice"
            COVERED[operation] = build.__name__
        CASES[build.__name__] = build
        return build

    return register


def times(method: str, path: str, member: Org, body: Any = None, n: int = TIMES) -> list[Call]:
    return [(method, path, member.headers, body)] * n


def statuses(answers: Answers) -> list[int]:
    return [status for status, _ in answers]


def one_winner(success: int, *losers: int) -> Callable[[Answers], None]:
    """Exactly one call succeeds with `success`; the others fail with one of `losers`."""

    def expect(answers: Answers) -> None:
        seen = statuses(answers)
        assert seen.count(success) == 1, seen
        assert set(seen) <= {success, *losers}, seen

    return expect


# SQLite reuses the highest deleted id (PostgreSQL's sequences never do): a request naming a
# withdrawn assignment may find another volunteer's in its place, and is refused 403.
REUSED_ID = (403,) if BACKEND == "sqlite" else ()


def only(*allowed: int) -> Callable[[Answers], None]:
    def expect(answers: Answers) -> None:
        assert set(statuses(answers)) <= set(allowed), statuses(answers)

    return expect


def usher_event(org: Org, capacity: int = 2, **extra: Any) -> Any:
    return add_event(org, slots=[{"role": "usher", "capacity": capacity}], **extra)


def signed_up(member: Org, event: Any) -> Any:
    return ok(member.post(f"{API}/events/{event['id']}/signups", json={"role": "usher"}), 201)


# --- auth: sign-up and invitation acceptance answers are the ones to adapt when their flows
# change (a confirmation step, a login for existing accounts) --------------------------------


@races(f"POST {API}/auth/signup")
def identical_sign_ups(client: TestClient) -> Race:
    slug = unique("org")
    email = f"admin@{slug}.example.org"
    calls: list[Call] = [("POST", f"{API}/auth/signup", {}, signup_body(slug, email, PASSWORD))]
    calls *= TIMES

    def expect(answers: Answers) -> None:
        # The same answer for everyone (202, or 429 once the address's budget is spent);
        # the organisation exists only once its link is followed.
        only(202, 429)(answers)
        assert 202 in statuses(answers), statuses(answers)
        with unit_of_work(client.app.state.session_factory) as session:  # type: ignore[attr-defined]
            assert session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is None

    return Race(calls, [], expect)


@races(f"POST {API}/auth/signup/confirm")
def one_confirmation_link_followed_ten_times(client: TestClient) -> Race:
    slug = unique("org")
    email = f"admin@{slug}.example.org"
    ok(client.post(f"{API}/auth/signup", json=signup_body(slug, email, PASSWORD)), 202)
    confirm = {"token": signup_token(client, email)}
    calls: list[Call] = [("POST", f"{API}/auth/signup/confirm", {}, confirm)] * TIMES

    def expect(answers: Answers) -> None:
        one_winner(201, 404)(answers)
        with unit_of_work(client.app.state.session_factory) as session:  # type: ignore[attr-defined]
            created = session.scalars(
                select(Organisation.id).where(Organisation.slug == slug)
            ).one()
            assert broken_invariants(session, created) == []

    return Race(calls, [], expect)


@races(f"POST {API}/auth/login")
def logins(client: TestClient) -> Race:
    org = new_org(client)
    body = {"email": org.email, "password": PASSWORD}
    return Race([("POST", f"{API}/auth/login", {}, body)] * TIMES, [org.id], only(200, 429))


@races(f"POST {API}/auth/refresh", f"POST {API}/auth/logout")
def refreshes_and_logouts(client: TestClient) -> Race:
    org = new_org(client)
    body = {"refresh_token": org.tokens["refresh_token"]}

    def expect(answers: Answers) -> None:
        refreshed = answers[:TIMES]
        assert set(statuses(refreshed)) <= {200, 401}, statuses(refreshed)
        successors = {body["refresh_token"] for status, body in refreshed if status == 200}
        assert len(successors) <= 1, "one refresh token, more than one successor"
        assert set(statuses(answers[TIMES:])) <= {204, 401}, statuses(answers)

    calls = [("POST", f"{API}/auth/refresh", {}, body)] * TIMES + times(
        "POST", f"{API}/auth/logout", org
    )
    return Race(calls, [org.id], expect)


@races(f"POST {API}/auth/password")
def password_changes(client: TestClient) -> Race:
    org = new_org(client)
    body = {"current_password": PASSWORD, "new_password": "another horse battery"}
    return Race(times("POST", f"{API}/auth/password", org, body), [org.id], only(200, 401, 400))


@races(f"POST {API}/auth/password-reset", f"POST {API}/auth/password-reset/confirm")
def password_resets(client: TestClient) -> Race:
    org = new_org(client)
    token = new_opaque_token()
    with unit_of_work(client.app.state.session_factory) as session:  # type: ignore[attr-defined]
        user_id = session.scalar(
            scoped(select(Membership.user_id), Membership, org.id).where(
                Membership.role == MemberRole.ADMIN
            )
        )
        session.add(
            PasswordReset(
                user_id=user_id,
                token_hash=digest(token),
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
        )
    confirm = {"token": token, "password": "another horse battery"}

    def expect(answers: Answers) -> None:
        assert set(statuses(answers[:TIMES])) <= {202, 429}, statuses(answers)
        confirmed = statuses(answers[TIMES:])
        assert confirmed.count(204) == 1, confirmed
        # 429: the reset token's own budget (auth/secret_checks.py) is smaller than the burst.
        assert set(confirmed) <= {204, 400, 429}, confirmed

    calls: list[Call] = [("POST", f"{API}/auth/password-reset", {}, {"email": org.email})] * TIMES
    calls += [("POST", f"{API}/auth/password-reset/confirm", {}, confirm)] * TIMES
    return Race(calls, [org.id], expect)


@races(
    f"POST {API}/invitations",
)
def identical_invitations(client: TestClient) -> Race:
    org = new_org(client)
    known = add_person(org)
    new = {"email": f"{unique('invitee')}@example.org", "name": "Invitee", "roles": ["usher"]}
    again = {"email": known["email"], "name": known["name"], "roles": ["usher"]}
    calls = times("POST", f"{API}/invitations", org, new, n=TIMES // 2)
    calls += times("POST", f"{API}/invitations", org, again, n=TIMES // 2)
    # Every invitation of the burst may be created (each replaces the one before); one
    # stays pending per person (broken_invariants).
    return Race(calls, [org.id], only(201, 409))


@races(f"POST {API}/invitations/preview")
def invitation_previewed_while_accepted(client: TestClient) -> Race:
    # A read by POST (the token stays out of URLs): it sees the invitation open or accepted,
    # never an error, while it is being accepted.
    org = new_org(client)
    invitation = ok(
        org.post(
            f"{API}/invitations", json={"email": f"{unique('pia')}@example.org", "name": "Pia"}
        ),
        201,
    )
    token = {"token": invitation["token"]}
    calls: list[Call] = [("POST", f"{API}/invitations/preview", {}, token)] * TIMES
    calls += [("POST", f"{API}/invitations/accept", {}, {**token, "password": PASSWORD})]
    return Race(calls, [org.id], only(200))


@races(f"POST {API}/invitations/accept", f"DELETE {API}/invitations/{{invitation_id}}")
def invitation_accepted_while_revoked(client: TestClient) -> Race:
    org = new_org(client)
    invitation = ok(
        org.post(
            f"{API}/invitations",
            json={"email": f"{unique('invitee')}@example.org", "name": "I", "roles": ["usher"]},
        ),
        201,
    )
    accept = {"token": invitation["token"], "password": PASSWORD}
    calls: list[Call] = [("POST", f"{API}/invitations/accept", {}, accept)] * TIMES
    calls += times("DELETE", f"{API}/invitations/{invitation['id']}", org)

    def expect(answers: Answers) -> None:
        accepted = statuses(answers[:TIMES])
        revoked = statuses(answers[TIMES:])
        assert accepted.count(200) + revoked.count(204) == 1, (accepted, revoked)

    return Race(calls, [org.id], expect)


# --- organisation, profile, calendar feeds ---------------------------------------------------


@races(f"PATCH {API}/organisation")
def organisation_updates(client: TestClient) -> Race:
    org = new_org(client)
    body = {"name": "Renamed", "swaps_need_approval": True}
    return Race(times("PATCH", f"{API}/organisation", org, body), [org.id], only(200))


@races(f"PATCH {API}/me")
def profile_updates(client: TestClient) -> Race:
    org = new_org(client)
    return Race(times("PATCH", f"{API}/me", org, {"name": "Me"}), [org.id], only(200))


@races(f"PUT {API}/calendar/feeds/me", f"DELETE {API}/calendar/feeds/me")
def my_feed_rotated_and_revoked(client: TestClient) -> Race:
    org = new_org(client)
    calls = times("PUT", f"{API}/calendar/feeds/me", org)
    calls += times("DELETE", f"{API}/calendar/feeds/me", org)
    return Race(calls, [org.id], only(200, 204))


@races(f"PUT {API}/calendar/feeds/organisation", f"DELETE {API}/calendar/feeds/organisation")
def organisation_feed_rotated_and_revoked(client: TestClient) -> Race:
    org = new_org(client)
    calls = times("PUT", f"{API}/calendar/feeds/organisation", org)
    calls += times("DELETE", f"{API}/calendar/feeds/organisation", org)
    return Race(calls, [org.id], only(200, 204))


@races(
    f"PUT {API}/people/{{person_id}}/calendar-feed",
    f"DELETE {API}/people/{{person_id}}/calendar-feed",
)
def person_feed_rotated_and_revoked(client: TestClient) -> Race:
    org = new_org(client)
    person = add_person(org)
    path = f"{API}/people/{person['id']}/calendar-feed"
    calls = times("PUT", path, org) + times("DELETE", path, org)
    return Race(calls, [org.id], only(200, 204))


# --- people and teams ------------------------------------------------------------------------


@races(f"POST {API}/people")
def identical_people(client: TestClient) -> Race:
    org = new_org(client)
    body = {"name": "Twin", "email": f"{unique('twin')}@example.org", "roles": ["usher"]}
    return Race(times("POST", f"{API}/people", org, body), [org.id], one_winner(201, 409))


@races(f"POST {API}/people/import")
def identical_imports(client: TestClient) -> Race:
    org = new_org(client)
    csv = f"name,email,roles\nNew,{unique('csv')}@example.org,usher\n"
    headers = {**org.headers, "Content-Type": "text/csv"}
    calls: list[Call] = [("POST", f"{API}/people/import", headers, csv)] * TIMES

    def expect(answers: Answers) -> None:
        assert set(statuses(answers)) <= {200, 409}, statuses(answers)
        created = [body["created"] for status, body in answers if status == 200]
        assert sum(created) == 1, created

    return Race(calls, [org.id], expect)


@races(f"PATCH {API}/people/{{person_id}}", f"DELETE {API}/people/{{person_id}}")
def person_edited_while_deleted(client: TestClient) -> Race:
    org = new_org(client)
    volunteer = invite_member(org)
    event = usher_event(org, capacity=1)
    signed_up(volunteer, event)
    waiting = invite_member(org)
    ok(waiting.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"}), 201)
    path = f"{API}/people/{person_id_of(volunteer)}"
    calls = times("PATCH", path, org, {"roles": ["usher", "reader"], "active": True})
    calls += times("DELETE", path, org)
    return Race(calls, [org.id], only(200, 204, 404))


@races()
def person_deleted_while_signing_up_and_offering(client: TestClient) -> Race:
    org = new_org(client)
    volunteer = invite_member(org)
    held = usher_event(org, capacity=1)
    place = signed_up(volunteer, held)
    events = [usher_event(org, capacity=2) for _ in range(4)]
    calls = [
        ("POST", f"{API}/events/{e['id']}/signups", volunteer.headers, {"role": "usher"})
        for e in events
    ]
    calls += times("POST", f"{API}/assignments/{place['id']}/swap-offers", volunteer, {}, n=3)
    calls += times("DELETE", f"{API}/people/{person_id_of(volunteer)}", org, n=3)
    return Race(calls, [org.id], only(201, 204, 401, 404, 409))


@races(f"PUT {API}/people/{{person_id}}/member-role")
def admins_demoting_each_other(client: TestClient) -> Race:
    org = new_org(client)
    other = invite_member(org, role="admin")
    me, them = person_id_of(org), person_id_of(other)
    demote = {"role": "volunteer"}
    calls = times("PUT", f"{API}/people/{them}/member-role", org, demote)
    calls += times("PUT", f"{API}/people/{me}/member-role", other, demote)
    # Either admin may win; never both.
    return Race(calls, [org.id], only(200, 403, 409))


@races()
def admins_deleting_each_other(client: TestClient) -> Race:
    org = new_org(client)
    other = invite_member(org, role="admin")
    me, them = person_id_of(org), person_id_of(other)
    calls = times("DELETE", f"{API}/people/{them}", org)
    calls += times("DELETE", f"{API}/people/{me}", other)
    return Race(calls, [org.id], only(204, 401, 403, 404, 409))


@races(
    f"POST {API}/people/{{person_id}}/availability",
    f"DELETE {API}/availability/{{window_id}}",
)
def availability_added_and_removed(client: TestClient) -> Race:
    org = new_org(client)
    me = person_id_of(org)
    path = f"{API}/people/{me}/availability"
    window = {"weekday": 2, "start_time": "09:00", "end_time": "12:00"}
    existing = ok(org.post(path, json=window), 201)
    calls = times("POST", path, org, window) + times(
        "DELETE", f"{API}/availability/{existing['id']}", org
    )
    return Race(calls, [org.id], only(201, 204, 404, 409))


@races(f"POST {API}/people/{{person_id}}/time-off", f"DELETE {API}/time-off/{{time_off_id}}")
def time_off_added_and_removed(client: TestClient) -> Race:
    org = new_org(client)
    path = f"{API}/people/{person_id_of(org)}/time-off"
    today = date.today()
    leave = {"starts_on": str(today + timedelta(days=3)), "ends_on": str(today + timedelta(days=5))}
    existing = ok(org.post(path, json=leave), 201)
    calls = times("POST", path, org, leave) + times(
        "DELETE", f"{API}/time-off/{existing['id']}", org
    )
    return Race(calls, [org.id], only(201, 204, 404, 409))


@races(f"POST {API}/teams")
def identical_teams(client: TestClient) -> Race:
    org = new_org(client)
    body = {"name": "Welcome"}
    return Race(times("POST", f"{API}/teams", org, body), [org.id], one_winner(201, 409))


@races(f"PATCH {API}/teams/{{team_id}}", f"DELETE {API}/teams/{{team_id}}")
def team_renamed_while_deleted(client: TestClient) -> Race:
    org = new_org(client)
    person = add_person(org)
    team = ok(org.post(f"{API}/teams", json={"name": "Music"}), 201)
    path = f"{API}/teams/{team['id']}"
    calls = times("PATCH", path, org, {"name": "Choir", "member_ids": [person["id"]]})
    calls += times("DELETE", path, org)
    return Race(calls, [org.id], only(200, 204, 404, 409))


# --- events ----------------------------------------------------------------------------------


@races(f"POST {API}/events", f"POST {API}/event-series")
def identical_events_and_series(client: TestClient) -> Race:
    org = new_org(client)
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    event = {
        "title": "Service",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "status": "published",
        "slots": [{"role": "usher", "capacity": 1}],
    }
    series = {**event, "rrule": "FREQ=WEEKLY;COUNT=3"}
    calls = times("POST", f"{API}/events", org, event)
    calls += times("POST", f"{API}/event-series", org, series)
    return Race(calls, [org.id], only(201))


@races(f"PATCH {API}/events/{{event_id}}", f"DELETE {API}/events/{{event_id}}")
def event_edited_while_signed_up_for_and_deleted(client: TestClient) -> Race:
    org = new_org(client)
    event = usher_event(org, capacity=2)
    members = [invite_member(org) for _ in range(3)]
    path = f"{API}/events/{event['id']}"
    calls = times("PATCH", path, org, {"slots": [{"role": "usher", "capacity": 1}]}, n=5)
    calls += times("PATCH", path, org, {"slots": [{"role": "usher", "capacity": 3}]}, n=5)
    calls += [("POST", f"{path}/signups", m.headers, {"role": "usher"}) for m in members]
    calls += times("DELETE", path, org)
    return Race(calls, [org.id], only(200, 201, 204, 404, 409))


# --- places: sign-ups, assignments, waitlists ------------------------------------------------


@races(f"POST {API}/events/{{event_id}}/signups")
def identical_sign_ups_to_an_event(client: TestClient) -> Race:
    org = new_org(client)
    volunteer = invite_member(org)
    event = usher_event(org)
    calls = times("POST", f"{API}/events/{event['id']}/signups", volunteer, {"role": "usher"})
    return Race(calls, [org.id], one_winner(201, 409))


@races(f"DELETE {API}/assignments/{{assignment_id}}")
def withdrawal_racing_sign_ups(client: TestClient) -> Race:
    org = new_org(client)
    volunteer = invite_member(org)
    event = usher_event(org, capacity=1)
    place = signed_up(volunteer, event)
    waiting = invite_member(org)
    ok(waiting.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"}), 201)
    calls = times("DELETE", f"{API}/assignments/{place['id']}", volunteer)
    calls += times("POST", f"{API}/events/{event['id']}/signups", volunteer, {"role": "usher"})
    # The waiting volunteer's promotion can take the withdrawn place's id on SQLite (see
    # accept_decline_and_cancel): a later DELETE of it is then refused as not the caller's.
    return Race(calls, [org.id], only(201, 204, 404, 409, *REUSED_ID))


@races(f"POST {API}/events/{{event_id}}/assignments")
def identical_assignments_by_an_admin(client: TestClient) -> Race:
    org = new_org(client)
    person = add_person(org)
    event = usher_event(org)
    body = {"person_id": person["id"], "role": "usher"}
    calls = times("POST", f"{API}/events/{event['id']}/assignments", org, body)
    return Race(calls, [org.id], one_winner(201, 409))


@races(
    f"POST {API}/assignments/{{assignment_id}}/accept",
    f"POST {API}/assignments/{{assignment_id}}/decline",
)
def accept_decline_and_cancel(client: TestClient) -> Race:
    org = new_org(client)
    volunteer = invite_member(org)
    event = usher_event(org, capacity=1)
    body = {"person_id": person_id_of(volunteer), "role": "usher"}
    assignment = ok(org.post(f"{API}/events/{event['id']}/assignments", json=body), 201)
    waiting = invite_member(org)
    ok(waiting.post(f"{API}/events/{event['id']}/waitlist", json={"role": "usher"}), 201)
    path = f"{API}/assignments/{assignment['id']}"
    calls = times("POST", f"{path}/accept", volunteer) + times("POST", f"{path}/decline", volunteer)
    calls += times("DELETE", path, volunteer)
    # SQLite gives a deleted row's id to the next insert when it was the highest: the waiting
    # volunteer's promotion can take this assignment's id, which is then not the caller's.
    return Race(calls, [org.id], only(200, 204, 404, 409, *REUSED_ID))


@races(f"POST {API}/events/{{event_id}}/waitlist", f"DELETE {API}/waitlist/{{waitlist_entry_id}}")
def waitlist_joined_and_left(client: TestClient) -> Race:
    org = new_org(client)
    holder = invite_member(org)
    event = usher_event(org, capacity=1)
    place = signed_up(holder, event)
    waiting = invite_member(org)
    path = f"{API}/events/{event['id']}/waitlist"
    entry = ok(waiting.post(path, json={"role": "usher"}), 201)
    calls = times("POST", path, waiting, {"role": "usher"})
    calls += times("DELETE", f"{API}/waitlist/{entry['id']}", waiting)
    calls += times("DELETE", f"{API}/assignments/{place['id']}", holder, n=2)
    # The promotion may take the holder's withdrawn place's id on SQLite (REUSED_ID).
    return Race(calls, [org.id], only(201, 204, 404, 409, *REUSED_ID))


# --- swaps -----------------------------------------------------------------------------------


def offered(org: Org, capacity: int = 2) -> tuple[Org, Any, Any]:
    offerer = invite_member(org)
    event = usher_event(org, capacity=capacity)
    assignment = signed_up(offerer, event)
    return offerer, event, assignment


@races(f"POST {API}/assignments/{{assignment_id}}/swap-offers")
def identical_swap_offers(client: TestClient) -> Race:
    org = new_org(client)
    offerer, _, assignment = offered(org)
    calls = times("POST", f"{API}/assignments/{assignment['id']}/swap-offers", offerer, {})
    return Race(calls, [org.id], one_winner(201, 409))


@races(f"POST {API}/swaps/{{swap_id}}/take", f"POST {API}/swaps/{{swap_id}}/cancel")
def swap_taken_while_cancelled(client: TestClient) -> Race:
    org = new_org(client)
    offerer, _, assignment = offered(org)
    taker = invite_member(org)
    swap = ok(offerer.post(f"{API}/assignments/{assignment['id']}/swap-offers", json={}), 201)
    path = f"{API}/swaps/{swap['id']}"
    calls = times("POST", f"{path}/take", taker, {}) + times("POST", f"{path}/cancel", offerer)
    calls += times("DELETE", f"{API}/assignments/{assignment['id']}", offerer, n=2)
    calls += times("DELETE", f"{API}/people/{person_id_of(offerer)}", org, n=2)

    def expect(answers: Answers) -> None:
        taken = statuses(answers[:TIMES])
        cancelled = statuses(answers[TIMES : 2 * TIMES])
        assert taken.count(200) + cancelled.count(200) <= 1, (taken, cancelled)
        # Once the take has moved the assignment to the taker, it is no longer the offerer's
        # to withdraw: their DELETE is refused as someone else's assignment.
        withdrawn = answers[2 * TIMES : 2 * TIMES + 2]
        not_theirs = [body for status, body in withdrawn if status == 403]
        assert all(body["code"] == "assignment.own_only" for body in not_theirs), not_theirs
        assert not not_theirs or taken.count(200) == 1, (taken, not_theirs)
        others = answers[: 2 * TIMES] + answers[2 * TIMES + 2 :]
        assert set(statuses(others)) <= {200, 204, 401, 404, 409}, statuses(answers)
        assert set(statuses(withdrawn)) <= {204, 401, 403, 404, 409}, statuses(withdrawn)

    return Race(calls, [org.id], expect)


@races(f"POST {API}/swaps/{{swap_id}}/approve", f"POST {API}/swaps/{{swap_id}}/reject")
def swap_approved_rejected_and_cancelled(client: TestClient) -> Race:
    org = new_org(client)
    ok(org.patch(f"{API}/organisation", json={"swaps_need_approval": True}))
    offerer, _, assignment = offered(org)
    taker = invite_member(org)
    swap = ok(offerer.post(f"{API}/assignments/{assignment['id']}/swap-offers", json={}), 201)
    path = f"{API}/swaps/{swap['id']}"
    ok(taker.post(f"{path}/take", json={}))
    calls = times("POST", f"{path}/approve", org) + times("POST", f"{path}/reject", org)
    calls += times("POST", f"{path}/cancel", offerer)
    calls += times("DELETE", f"{API}/people/{person_id_of(taker)}", org, n=2)

    def expect(answers: Answers) -> None:
        decided = statuses(answers[: 3 * TIMES])
        assert decided.count(200) == 1, decided
        assert set(statuses(answers)) <= {200, 204, 404, 409}, statuses(answers)

    return Race(calls, [org.id], expect)


# --- schedules -------------------------------------------------------------------------------


def _solve(org: Org, events: list[Any]) -> Any:
    body = {
        "starts_at": min(e["starts_at"] for e in events),
        "ends_at": max(e["ends_at"] for e in events),
        "time_limit_s": 1,
    }
    return ok(org.post(f"{API}/schedules/solve", json=body), 201)


@races(f"POST {API}/schedules/solve")
def identical_solves(client: TestClient) -> Race:
    org = new_org(client)
    add_person(org)
    event = usher_event(org, capacity=1)
    body = {"starts_at": event["starts_at"], "ends_at": event["ends_at"], "time_limit_s": 1}
    # One run per organisation at a time: drafts, the others `schedule.solve_in_progress` (the
    # process's solver slots are asked only by the run the organisation admitted), or 429
    # beyond the organisation's solves a minute. A run takes about 0.2 s, so a request that
    # arrives after it ended may start the next one: at least one draft, never two runs at
    # once (the unique index; no 5xx, and broken_invariants afterwards).
    calls = times("POST", f"{API}/schedules/solve", org, body)

    def expect(answers: Answers) -> None:
        only(201, 409, 429)(answers)
        assert 201 in statuses(answers), statuses(answers)

    return Race(calls, [org.id], expect)


@races(
    f"POST {API}/schedules/{{schedule_id}}/entries",
    f"DELETE {API}/schedules/{{schedule_id}}/entries/{{entry_id}}",
)
def draft_entries_added_and_removed(client: TestClient) -> Race:
    org = new_org(client)
    people = [add_person(org) for _ in range(2)]
    event = usher_event(org, capacity=2)
    draft = _solve(org, [event])
    entry = draft["entries"][0]
    slot_id = entry["slot_id"]
    path = f"{API}/schedules/{draft['id']}/entries"
    other = next(p["id"] for p in people if p["id"] != entry["person_id"])
    calls = times("POST", path, org, {"slot_id": slot_id, "person_id": other})
    calls += times("POST", path, org, {"slot_id": slot_id, "person_id": entry["person_id"]})
    calls += times("DELETE", f"{path}/{entry['id']}", org)
    return Race(calls, [org.id], only(201, 204, 404, 409))


@races(
    f"POST {API}/schedules/{{schedule_id}}/publish",
    f"POST {API}/schedules/{{schedule_id}}/unpublish",
    f"POST {API}/schedules/{{schedule_id}}/rollback",
)
def publish_unpublish_and_rollback(client: TestClient) -> Race:
    org = new_org(client)
    for _ in range(3):
        add_person(org)
    event = usher_event(org, capacity=2)
    first = _solve(org, [event])
    ok(org.post(f"{API}/schedules/{first['id']}/publish"))
    second = _solve(org, [event])
    volunteer = invite_member(org)
    calls = times("POST", f"{API}/schedules/{second['id']}/publish", org)
    calls += times("POST", f"{API}/schedules/{first['id']}/unpublish", org)
    calls += times("POST", f"{API}/schedules/{first['id']}/rollback", org)
    calls += times("POST", f"{API}/events/{event['id']}/signups", volunteer, {"role": "usher"}, 3)
    return Race(calls, [org.id], only(200, 201, 409))


# --- the harness -----------------------------------------------------------------------------


def write_operations(app: FastAPI) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in WRITES
    }


def test_every_write_operation_has_a_race_case(app: FastAPI) -> None:
    operations = write_operations(app)
    assert sorted(operations - set(COVERED)) == [], "write operations without a race case"
    assert sorted(set(COVERED) - operations) == [], "race cases for operations that are gone"


def broken_invariants(session: Session, org_id: int) -> list[str]:
    """What an organisation's data says that can never be true."""
    broken: list[str] = []
    held = dict(
        session.execute(
            scoped(select(Assignment.slot_id, func.count()), Assignment, org_id)
            .where(Assignment.status.in_(ACTIVE))
            .group_by(Assignment.slot_id)
        ).all()
    )
    for slot in session.scalars(scoped(select(EventSlot), EventSlot, org_id)):
        if slot.filled != held.get(slot.id, 0) or slot.filled > slot.capacity:
            broken.append(
                f"slot {slot.id}: filled {slot.filled}, {held.get(slot.id, 0)} places held, "
                f"capacity {slot.capacity}"
            )
    people = session.scalar(scoped(select(func.count()).select_from(Person), Person, org_id))
    admins = session.scalar(
        scoped(select(func.count()).select_from(Membership), Membership, org_id).where(
            Membership.role == MemberRole.ADMIN
        )
    )
    if people and not admins:
        broken.append("no admin left")
    both = session.scalar(
        scoped(select(func.count()).select_from(WaitlistEntry), WaitlistEntry, org_id).where(
            select(Assignment.id)
            .where(
                Assignment.event_id == WaitlistEntry.event_id,
                Assignment.person_id == WaitlistEntry.person_id,
                Assignment.status.in_(ACTIVE),
            )
            .exists()
        )
    )
    if both:
        broken.append(f"{both} people both placed and waiting at one event")
    offers = session.execute(
        scoped(select(SwapRequest.assignment_id, func.count()), SwapRequest, org_id)
        .where(SwapRequest.state.in_((SwapState.OPEN, SwapState.AWAITING_APPROVAL)))
        .group_by(SwapRequest.assignment_id)
        .having(func.count() > 1)
    ).all()
    broken += [f"assignment {a}: {n} open swap offers" for a, n in offers]
    feeds = session.execute(
        scoped(select(CalendarFeed.person_id, func.count()), CalendarFeed, org_id)
        .where(CalendarFeed.revoked_at.is_(None))
        .group_by(CalendarFeed.person_id)
        .having(func.count() > 1)
    ).all()
    broken += [f"feed of person {p}: {n} live tokens" for p, n in feeds]
    pending = session.execute(
        scoped(select(Invitation.person_id, func.count()), Invitation, org_id)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .group_by(Invitation.person_id)
        .having(func.count() > 1)
    ).all()
    broken += [f"person {p}: {n} pending invitations" for p, n in pending]
    return broken


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_burst_of_one_write_and_its_inverse_answers_no_5xx_and_keeps_invariants(
    client: TestClient, live_url: str, case: str
) -> None:
    race = CASES[case](client)
    answers = all_at_once(live_url, race.calls)
    failures = [
        (call[:2], status, body)
        for call, (status, body) in zip(race.calls, answers, strict=True)
        if status >= 500
    ]
    assert failures == [], failures
    if race.expect is not None:
        race.expect(answers)
    with unit_of_work(client.app.state.session_factory) as session:  # type: ignore[attr-defined]
        for org_id in race.org_ids:
            assert broken_invariants(session, org_id) == []
