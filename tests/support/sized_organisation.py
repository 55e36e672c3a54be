"""An organisation of a given size with something in every list the API and the web app read,
built through the public API (as an organiser and their volunteers would) over any HTTP client:
the in-process TestClient or an httpx.Client on a real server.

Two sizes of the same shape make the statement-count and fan-out tests (the query-plan test
reads the large one): every list is longer in the large one (more rows), and so is every list
inside a row (more slots per event, members per team, entries per schedule, people waiting per
event). A request whose number of SQL statements, or a page whose number of API requests,
differs between the two grows with the data."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from signupflow.demo import ROLES

API = "/api/v1"
PASSWORD = "correct horse battery"
CAPACITY = 2  # places per role slot


@dataclass(frozen=True)
class Size:
    """How much of everything; each figure grows from the small size to the large one."""

    name: str
    people: int  # without a login, two roles each
    logins: int  # volunteers with a login and every role; the first is `Organisation.volunteer`
    events: int  # published, one every two days
    drafts: int  # draft events (schedulers see them, volunteers do not)
    roles_per_event: int  # role slots of each event, CAPACITY places each
    full_events: int  # events filled by hand: the volunteer waits at each, the others at the first
    volunteer_shifts: int  # the volunteer's own assignments; half offered as swaps, half taken
    published_schedules: int  # each over a stretch of the events (fewer than 6: one solve
    # more makes the draft, and ORG_SOLVES_PER_MINUTE defaults to 6)
    teams: int
    team_members: int
    occurrences: int  # of one recurring series
    pending_invitations: int
    windows: int  # the volunteer's weekly availability windows (at most 7, one per weekday)
    time_off: int  # the volunteer's leaves


SMALL = Size(
    name="small",
    people=20,
    logins=2,
    events=5,
    drafts=1,
    roles_per_event=2,
    full_events=1,
    volunteer_shifts=2,
    published_schedules=1,
    teams=2,
    team_members=3,
    occurrences=3,
    pending_invitations=1,
    windows=1,
    time_off=1,
)
LARGE = Size(
    name="large",
    people=200,
    logins=8,
    events=50,
    drafts=10,
    roles_per_event=6,
    full_events=6,
    volunteer_shifts=12,
    published_schedules=4,
    teams=10,
    team_members=30,
    occurrences=30,
    pending_invitations=10,
    windows=7,
    time_off=10,
)


@dataclass
class Member:
    """Someone logged in: their headers for API calls and their tokens (for a browser)."""

    headers: dict[str, str]
    tokens: dict[str, Any]
    person_id: int | None


@dataclass
class Organisation:
    """The built organisation: who can call, and the ids of one representative row of each
    kind (the busiest one where rows differ)."""

    size: Size
    organisation_id: int
    admin: Member
    volunteer: Member
    event_id: int  # full, with people waiting and swap offers
    series_id: int
    team_id: int
    person_id: int  # the volunteer's: availability, assignments, swaps, waitlist places
    schedule_id: int  # a draft over the last stretch of events
    published_schedule_id: int
    swap_id: int  # the volunteer's open offer
    person_feed_token: str
    organisation_feed_token: str
    first_event_at: datetime
    last_event_at: datetime

    def member(self, caller: str) -> Member:
        """The admin or the volunteer, by name."""
        return {"admin": self.admin, "volunteer": self.volunteer}[caller]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


class _Builder:
    def __init__(self, client: httpx.Client, admin_tokens: dict[str, Any], size: Size) -> None:
        self.client = client
        self.size = size
        self.admin = Member(_bearer(admin_tokens), admin_tokens, None)
        self.tag = uuid.uuid4().hex[:8]
        self.emails = itertools.count(1)
        # Whole days from tomorrow, so every event is upcoming (sign-ups, swaps and waitlists
        # are refused once an event has started) and none overlaps another.
        today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
        self.start = today + timedelta(days=1)

    def call(self, member: Member, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self.client.request(method, f"{API}{path}", headers=member.headers, **kw)
        return _ok(response, status)

    def email(self, kind: str) -> str:
        return f"{kind}{next(self.emails)}-{self.tag}@example.org"

    def person(self, i: int) -> dict[str, Any]:
        first = ROLES[i % len(ROLES)]
        second = ROLES[(i + 1 + i // len(ROLES)) % len(ROLES)]
        roles = [first, second] if first != second else [first, ROLES[(i + 2) % len(ROLES)]]
        body = {"name": f"Volunteer {i + 1:03d}", "email": self.email("p"), "roles": roles}
        return self.call(self.admin, "POST", "/people", 201, json=body)  # type: ignore[no-any-return]

    def login(self, i: int) -> Member:
        invitation = self.call(
            self.admin,
            "POST",
            "/invitations",
            201,
            json={
                "email": self.email("member"),
                "name": f"Member {i + 1:02d}",
                "role": "volunteer",
                "roles": list(ROLES),
            },
        )
        response = self.client.post(
            f"{API}/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
        )
        tokens = _ok(response)
        return Member(_bearer(tokens), tokens, invitation["person_id"])

    def event(self, i: int, *, status: str = "published", team_id: int | None = None) -> Any:
        starts = self.start + timedelta(days=2 * i)
        roles = [ROLES[(i + k) % len(ROLES)] for k in range(self.size.roles_per_event)]
        body = {
            "title": f"Service {i + 1:03d}",
            "location": "Main hall",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "status": status,
            "team_id": team_id,
            "slots": [{"role": role, "capacity": CAPACITY} for role in roles],
        }
        return self.call(self.admin, "POST", "/events", 201, json=body)

    def assign(self, event_id: int, person_id: int, role: str) -> Any:
        body = {"person_id": person_id, "role": role}
        return self.call(self.admin, "POST", f"/events/{event_id}/assignments", 201, json=body)

    def solve(self, first: Any, last: Any) -> Any:
        body = {"starts_at": first["starts_at"], "ends_at": last["ends_at"], "seed": 1}
        return self.call(self.admin, "POST", "/schedules/solve", 201, json=body)

    def build(self) -> Organisation:
        size = self.size
        people = [self.person(i) for i in range(size.people)]
        logins = [self.login(i) for i in range(size.logins)]
        volunteer = logins[0]
        assert volunteer.person_id is not None
        teams = [
            self.call(
                self.admin,
                "POST",
                "/teams",
                201,
                json={
                    "name": f"Team {t + 1:02d}",
                    "member_ids": [volunteer.person_id]
                    + [p["id"] for p in people[t : t + size.team_members]],
                },
            )
            for t in range(size.teams)
        ]
        events = [
            self.event(i, team_id=teams[i // 2 % len(teams)]["id"] if i % 2 else None)
            for i in range(size.events)
        ]
        for i in range(size.drafts):
            self.event(size.events + i, status="draft")
        holders = {role: [p for p in people if role in p["roles"]] for role in ROLES}

        # Filled by hand: every place of the first `full_events` events, so people can wait.
        full = events[: size.full_events]
        placed: set[tuple[int, int]] = set()  # (event, person): one place per person and event
        for event in full:
            for slot in event["slots"]:
                free = (p for p in holders[slot["role"]] if (event["id"], p["id"]) not in placed)
                for person in itertools.islice(free, slot["capacity"]):
                    self.assign(event["id"], person["id"], slot["role"])
                    placed.add((event["id"], person["id"]))
        # The volunteer's own shifts, on the events after those.
        shifts = [
            self.assign(event["id"], volunteer.person_id, event["slots"][0]["role"])
            for event in events[size.full_events : size.full_events + size.volunteer_shifts]
        ]
        # Waiting: the volunteer at every full event, every other login at the busiest one.
        for event in full:
            role = event["slots"][0]["role"]
            self.call(
                volunteer, "POST", f"/events/{event['id']}/waitlist", 201, json={"role": role}
            )
        for member in logins[1:]:
            role = full[0]["slots"][-1]["role"]
            self.call(member, "POST", f"/events/{full[0]['id']}/waitlist", 201, json={"role": role})

        # Swaps: the volunteer offers every shift; half are taken by a colleague (completed),
        # and the admin offers a place at each full event on its holder's behalf (open offers
        # the volunteer could take).
        offers = [
            self.call(volunteer, "POST", f"/assignments/{a['id']}/swap-offers", 201, json={})
            for a in shifts
        ]
        for i, offer in enumerate(offers[: len(offers) // 2]):
            taker = next(
                p
                for p in people[size.people // 2 + i :]
                if offer["role"] in p["roles"] and (offer["event_id"], p["id"]) not in placed
            )
            self.call(
                self.admin, "POST", f"/swaps/{offer['id']}/take", json={"person_id": taker["id"]}
            )
        open_offer = offers[-1]
        for event in full:
            held = self.call(self.admin, "GET", f"/events/{event['id']}/assignments")["items"]
            self.call(self.admin, "POST", f"/assignments/{held[0]['id']}/swap-offers", 201, json={})

        # Schedules: one published per stretch of the events after the volunteer's shifts (the
        # solver keeps what is already placed), then a draft over the last stretch again (what
        # the schedule page shows first: over all 50 events, its 300 slots with a select of
        # every person each took the browser about 20 s to render on the test machine).
        rest = events[size.full_events + size.volunteer_shifts :]
        length = -(-len(rest) // size.published_schedules)
        stretches = [rest[i : i + length] for i in range(0, len(rest), length)]
        published = []
        for stretch in stretches:
            schedule = self.solve(stretch[0], stretch[-1])
            self.call(self.admin, "POST", f"/schedules/{schedule['id']}/publish")
            published.append(schedule)
        draft = self.solve(stretches[-1][0], stretches[-1][-1])

        series_start = self.start + timedelta(days=2 * (size.events + size.drafts) + 1)
        series = self.call(
            self.admin,
            "POST",
            "/event-series",
            201,
            json={
                "title": "Weekly rehearsal",
                "starts_at": series_start.isoformat(),
                "ends_at": (series_start + timedelta(hours=1)).isoformat(),
                "rrule": f"FREQ=WEEKLY;COUNT={size.occurrences}",
                "status": "published",
                "slots": [{"role": role, "capacity": 1} for role in ROLES[: size.roles_per_event]],
            },
        )
        for i in range(size.pending_invitations):
            body = {
                "email": self.email("invited"),
                "name": f"Invited {i + 1:02d}",
                "roles": ["usher"],
            }
            self.call(self.admin, "POST", "/invitations", 201, json=body)

        person = f"/people/{volunteer.person_id}"
        for day in range(size.windows):
            window = {"weekday": day, "start_time": "08:00", "end_time": "20:00"}
            self.call(volunteer, "POST", f"{person}/availability", 201, json=window)
        leave_from = date.fromordinal(series_start.date().toordinal() + 7 * size.occurrences)
        for i in range(size.time_off):
            begins = leave_from + timedelta(days=10 * i)
            body = {
                "starts_on": begins.isoformat(),
                "ends_on": (begins + timedelta(days=2)).isoformat(),
            }
            self.call(volunteer, "POST", f"{person}/time-off", 201, json=body)

        person_feed = self.call(volunteer, "PUT", "/calendar/feeds/me")["https_url"]
        self.call(self.admin, "PUT", "/calendar/feeds/me")  # every member's link can be read
        organisation_feed = self.call(self.admin, "PUT", "/calendar/feeds/organisation")[
            "https_url"
        ]
        return Organisation(
            size=size,
            organisation_id=self.admin.tokens["organisation_id"],
            admin=self.admin,
            volunteer=volunteer,
            event_id=full[0]["id"],
            series_id=series["id"],
            team_id=teams[0]["id"],
            person_id=volunteer.person_id,
            schedule_id=draft["id"],
            published_schedule_id=published[0]["id"],
            swap_id=open_offer["id"],
            person_feed_token=_feed_token(person_feed),
            organisation_feed_token=_feed_token(organisation_feed),
            first_event_at=datetime.fromisoformat(events[0]["starts_at"]),
            last_event_at=series_start + timedelta(days=7 * size.occurrences),
        )


def _feed_token(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".ics")


def build_organisation(
    client: httpx.Client, admin_tokens: dict[str, Any], size: Size
) -> Organisation:
    """Fill the organisation whose admin holds `admin_tokens` to `size`, through the API."""
    return _Builder(client, admin_tokens, size).build()
