"""`responses.json_page` writes what pydantic's serialiser would, byte for byte, for every kind
of value a listing's row holds (the list routes' bodies are compared on real data by
tests/api/test_read_bodies_unchanged.py and tests/api/test_statement_counts.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from pydantic_core import to_json

from signupflow.responses import json_page

ZONES = [
    UTC,
    ZoneInfo("UTC"),
    ZoneInfo("Europe/London"),  # offset 0 in winter: `Z`, as for UTC
    ZoneInfo("America/New_York"),
    timezone(timedelta(hours=5, minutes=30)),
]


def test_a_page_is_written_as_pydantic_writes_it() -> None:
    instants = [datetime(2031, 1, 5, 15, 0, 0, micro, tzinfo=z) for z in ZONES for micro in (0, 7)]
    item = {
        "id": 2**53 + 1,
        "name": "Zoë \u2028 <b>&</b> \x00 \U0001f600",
        "active": True,
        "team_id": None,
        "roles": ["usher", "greeter"],
        "avoid_weekdays": [],
        "limits": {"per_week": 3},
        "instants": instants,
        "day": date(2031, 1, 5),
        "at": time(10, 30),
    }
    written = json_page([item, item], total=2, limit=50, offset=0).body
    assert written == to_json({"items": [item, item], "total": 2, "limit": 50, "offset": 0})
