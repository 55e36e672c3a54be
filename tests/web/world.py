"""One organisation with something on every page (an event, a volunteer with a place to
answer, a team, a draft schedule), and the route of every page of the app, by who sees it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.web.support import WEB, Org, api_signup, volunteer

ADMIN_PAGES = [
    ("/dashboard", "dashboard"),
    ("/events", "events"),
    ("/events/new", "events-new"),
    ("/people", "people"),
    ("/teams", "teams"),
    ("/settings", "settings"),
    ("/profile", "profile"),
    ("/schedule", "schedule"),
    ("/swaps", "swaps"),
]
VOLUNTEER_PAGES = [
    ("/my-schedule", "my-schedule"),
    ("/open-shifts", "open-shifts"),
    ("/availability", "availability"),
    ("/swaps", "swaps"),
    ("/profile", "profile"),
]
PUBLIC_PAGES = [
    ("/login", "login"),
    ("/signup", "signup"),
    ("/signup/confirm?token=abcdefghijklmnopqrstuvwxyz", "signup-confirm"),
    ("/forgot-password", "forgot-password"),
    ("/reset-password?token=abcdefghijklmnopqrstuvwxyz", "reset-password"),
    ("/accept?token=abcdefghijklmnopqrstuvwxyz", "accept"),
]


@dataclass
class World:
    org: Org
    volunteer_tokens: dict[str, Any]
    event_id: int
    person_id: int

    def admin_pages(self) -> list[tuple[str, str]]:
        """Every organiser's page, with one event's and one person's."""
        return [
            *ADMIN_PAGES,
            (f"/events/{self.event_id}", "events-id"),
            (f"/people/{self.person_id}", "people-id"),
        ]


def app_routes() -> set[str]:
    """The routes web/js/app.js serves."""
    return set(re.findall(r"path: '([^']+)'", (WEB / "js" / "app.js").read_text()))


def build_world(base_url: str) -> World:
    org = api_signup(base_url, timezone="Europe/Lisbon")
    with httpx.Client(base_url=f"{base_url}/api/v1", headers=org.headers) as api:
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        event = api.post(
            "/events",
            json={
                "title": "Sunday service",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "location": "Main hall",
                "status": "published",
                "slots": [{"role": "Usher", "capacity": 2}, {"role": "Sound", "capacity": 1}],
            },
        )
        assert event.status_code == 201, event.text
        api.post("/teams", json={"name": "Welcome team"}).raise_for_status()
        vic = volunteer(api, base_url, "Vic")
        person_id = vic["person_id"]
        # A place the volunteer has to answer: My schedule shows its actions.
        placed = api.post(
            f"/events/{event.json()['id']}/assignments",
            json={"person_id": person_id, "role": "Usher"},
        )
        assert placed.status_code == 201, placed.text
        # A draft for the schedule page to review (unfilled places, fairness, edit forms).
        solved = api.post(
            "/schedules/solve",
            json={
                "starts_at": datetime.now(UTC).isoformat(),
                "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            },
        )
        assert solved.status_code in (201, 202), solved.text
    return World(org, vic["tokens"], event.json()["id"], person_id)
