"""Recurring events: an RRULE read in the organisation's time zone, bounded, and each
occurrence an ordinary event with the same slots."""

from __future__ import annotations

import pytest

from tests.factories import invite_member, new_org, ok, problem_type

API = "/api/v1"


def _series(org, rrule, starts_at, ends_at, **extra):
    body = {
        "title": "Sunday service",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": "published",
        "slots": [{"role": "usher", "capacity": 2}, {"role": "greeter", "capacity": 1}],
        "rrule": rrule,
        **extra,
    }
    return org.post(f"{API}/event-series", json=body)


def test_a_weekly_event_stays_at_ten_local_when_summer_time_ends_in_madrid(client):
    org = new_org(client, timezone="Europe/Madrid")
    # Summer time ends on Sunday 27 October 2030 in the EU.
    series = ok(
        _series(
            org,
            "FREQ=WEEKLY;COUNT=3",
            "2030-10-20T10:00:00+02:00",
            "2030-10-20T12:00:00+02:00",
        ),
        201,
    )
    occurrences = series["occurrences"]
    assert [e["starts_at_local"] for e in occurrences] == [
        "2030-10-20T10:00:00+02:00",
        "2030-10-27T10:00:00+01:00",
        "2030-11-03T10:00:00+01:00",
    ]
    assert [e["starts_at"] for e in occurrences] == [
        "2030-10-20T08:00:00Z",
        "2030-10-27T09:00:00Z",
        "2030-11-03T09:00:00Z",
    ]
    assert {e["ends_at_local"][11:16] for e in occurrences} == {"12:00"}
    assert {e["series_id"] for e in occurrences} == {series["id"]}
    for event in occurrences:
        assert sorted((s["role"], s["capacity"], s["filled"]) for s in event["slots"]) == [
            ("greeter", 1, 0),
            ("usher", 2, 0),
        ]


def test_a_weekly_event_stays_at_ten_local_when_summer_time_starts_in_new_york(client):
    org = new_org(client, timezone="America/New_York")
    # Daylight saving time starts on Sunday 10 March 2030 in the US.
    series = ok(
        _series(
            org,
            "RRULE:FREQ=WEEKLY;BYDAY=SU;UNTIL=20300317T235959Z",
            "2030-03-03T15:00:00Z",
            "2030-03-03T16:30:00Z",
        ),
        201,
    )
    assert [e["starts_at_local"][11:16] for e in series["occurrences"]] == ["10:00"] * 3
    assert [e["starts_at"] for e in series["occurrences"]] == [
        "2030-03-03T15:00:00Z",
        "2030-03-10T14:00:00Z",
        "2030-03-17T14:00:00Z",
    ]
    listed = ok(org.get(f"{API}/events", params={"from": "2030-03-01T00:00:00Z"}))
    assert listed["total"] == 3


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=WEEKLY",  # unbounded
        "FREQ=DAILY;COUNT=367",  # over the cap
        "FREQ=DAILY;UNTIL=20321231",  # 366 is the most
        "FREQ=HOURLY;COUNT=3",
        "FREQ=WEEKLY;COUNT=3;UNTIL=20301231",
        "FREQ=WEEKLY;BYDAY=XX;COUNT=2",
        "DTSTART:20300101T100000\nRRULE:FREQ=DAILY;COUNT=2",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=2",  # never happens
        "not a rule",
    ],
)
def test_an_unbounded_or_invalid_rule_is_refused(client, rrule):
    org = new_org(client)
    response = _series(org, rrule, "2030-10-20T10:00:00+02:00", "2030-10-20T12:00:00+02:00")
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert ok(org.get(f"{API}/events"))["total"] == 0


def test_a_daily_rule_may_make_up_to_366_occurrences(client):
    org = new_org(client)
    response = _series(org, "FREQ=DAILY;COUNT=366", "2031-01-01T09:00:00Z", "2031-01-01T10:00:00Z")
    assert len(ok(response, 201)["occurrences"]) == 366


def test_deleting_this_and_following_occurrences_keeps_the_earlier_ones(client):
    org = new_org(client)
    series = ok(
        _series(org, "FREQ=WEEKLY;COUNT=4", "2030-06-02T10:00:00Z", "2030-06-02T11:00:00Z"), 201
    )
    ids = [e["id"] for e in series["occurrences"]]
    assert org.delete(f"{API}/events/{ids[3]}", params={"scope": "this"}).status_code == 204
    assert org.delete(f"{API}/events/{ids[1]}", params={"scope": "following"}).status_code == 204
    remaining = ok(org.get(f"{API}/events"))["items"]
    assert [e["id"] for e in remaining] == [ids[0]]
    bad_scope = org.delete(f"{API}/events/{ids[0]}", params={"scope": "all"})
    assert problem_type(bad_scope, 422) == "/problems/invalid-input"


def _weekly_in_madrid(client, count):
    """Sundays 10:00-12:00 in Madrid from 13 October 2030, across the end of summer time."""
    org = new_org(client, timezone="Europe/Madrid")
    rule = f"FREQ=WEEKLY;COUNT={count}"
    return org, ok(
        _series(org, rule, "2030-10-13T10:00:00+02:00", "2030-10-13T12:00:00+02:00"), 201
    )


def _occurrences(org, series_id):
    events = ok(org.get(f"{API}/events", params={"limit": 100}))["items"]
    return sorted((e for e in events if e["series_id"] == series_id), key=lambda e: e["starts_at"])


def test_editing_this_and_following_moves_later_dates_by_the_same_local_time(client):
    # Weekly across the end of summer time (27 October 2030).
    org, series = _weekly_in_madrid(client, 4)
    first, second, *_ = series["occurrences"]
    change = {
        "title": "Evening service",
        "starts_at": "2030-10-20T18:00:00+02:00",
        "ends_at": "2030-10-20T19:30:00+02:00",
        "slots": [{"role": "usher", "capacity": 3}],
    }
    ok(org.patch(f"{API}/events/{second['id']}", params={"scope": "following"}, json=change))

    after = _occurrences(org, series["id"])
    assert [(e["title"], e["starts_at_local"], e["ends_at_local"]) for e in after] == [
        ("Sunday service", "2030-10-13T10:00:00+02:00", "2030-10-13T12:00:00+02:00"),
        ("Evening service", "2030-10-20T18:00:00+02:00", "2030-10-20T19:30:00+02:00"),
        ("Evening service", "2030-10-27T18:00:00+01:00", "2030-10-27T19:30:00+01:00"),
        ("Evening service", "2030-11-03T18:00:00+01:00", "2030-11-03T19:30:00+01:00"),
    ]
    assert [[(s["role"], s["capacity"]) for s in e["slots"]] for e in after] == [
        [("greeter", 1), ("usher", 2)],
        *[[("usher", 3)]] * 3,
    ]
    assert first["id"] == after[0]["id"]
    audit = ok(org.get(f"{API}/audit"))["items"]
    update = next(a for a in audit if a["action"] == "update" and a["entity"] == "event")
    assert update["changes"]["event_ids"] == [e["id"] for e in after[1:]]


def test_editing_this_only_leaves_the_rest_of_the_series(client):
    org, series = _weekly_in_madrid(client, 3)
    middle = series["occurrences"][1]
    ok(org.patch(f"{API}/events/{middle['id']}", json={"title": "Special"}))
    assert [e["title"] for e in _occurrences(org, series["id"])] == [
        "Sunday service",
        "Special",
        "Sunday service",
    ]


def test_an_edit_one_later_occurrence_cannot_take_changes_none_of_them(client):
    org, series = _weekly_in_madrid(client, 3)
    first, _, last = series["occurrences"]
    member = invite_member(org, roles=["greeter"])
    ok(member.post(f"{API}/events/{last['id']}/signups", json={"role": "greeter"}), 201)
    change = {"title": "No greeters", "slots": [{"role": "usher", "capacity": 2}]}
    response = org.patch(f"{API}/events/{first['id']}", params={"scope": "following"}, json=change)
    assert problem_type(response) == "/problems/conflict"
    assert response.json()["code"] == "slot.has_signups"
    after = _occurrences(org, series["id"])
    assert {e["title"] for e in after} == {"Sunday service"}
    assert all(len(e["slots"]) == 2 for e in after)


def test_a_series_reads_back_with_the_occurrences_that_remain(client):
    org, series = _weekly_in_madrid(client, 4)
    first, second, third, _ = series["occurrences"]
    ok(org.patch(f"{API}/events/{second['id']}", json={"status": "draft"}))
    assert (
        org.delete(f"{API}/events/{third['id']}", params={"scope": "following"}).status_code == 204
    )

    read = ok(org.get(f"{API}/event-series/{series['id']}"))
    assert (read["id"], read["rrule"], read["timezone"]) == (
        series["id"],
        "FREQ=WEEKLY;COUNT=4",
        "Europe/Madrid",
    )
    assert [e["id"] for e in read["occurrences"]] == [first["id"], second["id"]]
    # Volunteers do not see the draft; another organisation does not see the series at all.
    member = invite_member(org)
    seen = ok(member.get(f"{API}/event-series/{series['id']}"))["occurrences"]
    assert [e["id"] for e in seen] == [first["id"]]
    other = new_org(client)
    assert problem_type(other.get(f"{API}/event-series/{series['id']}"), 404) == (
        "/problems/not-found"
    )


@pytest.mark.parametrize(
    ("rrule", "code"),
    [
        ("FREQ=DAILY;INTERVAL=0;COUNT=3", "recurrence.interval"),
        ("FREQ=WEEKLY;INTERVAL=-1;COUNT=3", "recurrence.interval"),
        ("FREQ=WEEKLY;INTERVAL=two;COUNT=3", "recurrence.interval"),
        ("FREQ=DAILY;BYMINUTE=0,1,2;COUNT=3", "recurrence.time_of_day"),
        ("FREQ=DAILY;BYHOUR=10,11;COUNT=4", "recurrence.time_of_day"),
        ("FREQ=WEEKLY;BYSECOND=0,30;COUNT=4", "recurrence.time_of_day"),
        ("FREQ=DAILY;BYHOUR=18;COUNT=2", "recurrence.start_not_first"),
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=2", "recurrence.start_not_first"),
    ],
)
def test_a_rule_that_repeats_an_occurrence_in_place_or_within_a_day_is_refused(client, rrule, code):
    org = new_org(client, timezone="Europe/Madrid")
    response = _series(org, rrule, "2030-10-20T10:00:00+02:00", "2030-10-20T12:00:00+02:00")
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["code"] == code
    assert ok(org.get(f"{API}/events"))["total"] == 0


def test_occurrences_that_overlap_are_refused(client):
    org = new_org(client, timezone="Europe/Madrid")
    # Sundays and Mondays, each from 10:00 to 11:00 the next day.
    rrule = "FREQ=WEEKLY;BYDAY=SU,MO;COUNT=4"
    response = _series(org, rrule, "2030-10-20T10:00:00+02:00", "2030-10-21T11:00:00+02:00")
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["code"] == "recurrence.overlap"
    assert response.json()["params"] == {"starts_at": "2030-10-21T10:00:00+02:00"}
    touching = _series(org, rrule, "2030-10-20T10:00:00+02:00", "2030-10-21T10:00:00+02:00")
    assert len(ok(touching, 201)["occurrences"]) == 4


def test_a_start_the_rule_skips_is_refused_naming_the_first_occurrence(client):
    org = new_org(client, timezone="Europe/Madrid")
    # A Wednesday, for a rule that repeats on Sundays.
    response = _series(
        org,
        "FREQ=WEEKLY;BYDAY=SU;COUNT=2",
        "2030-10-16T10:00:00+02:00",
        "2030-10-16T12:00:00+02:00",
    )
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["params"] == {"first": "2030-10-20T10:00:00+02:00"}
    retried = _series(
        org,
        "FREQ=WEEKLY;BYDAY=SU;COUNT=2",
        "2030-10-20T10:00:00+02:00",
        "2030-10-20T12:00:00+02:00",
    )
    assert [e["starts_at_local"] for e in ok(retried, 201)["occurrences"]] == [
        "2030-10-20T10:00:00+02:00",
        "2030-10-27T10:00:00+01:00",
    ]


def test_a_series_is_held_to_the_rules_of_a_single_event(client):
    org = new_org(client)
    too_long = _series(org, "FREQ=MONTHLY;COUNT=2", "2031-01-01T10:00:00Z", "2031-01-16T10:00:00Z")
    assert too_long.json()["code"] == "event.too_long"
    # The last occurrences would fall after the end of the calendar (31 December 2200).
    past_the_end = _series(
        org, "FREQ=WEEKLY;COUNT=5", "2200-12-10T10:00:00Z", "2200-12-10T11:00:00Z"
    )
    assert problem_type(past_the_end, 422) == "/problems/invalid-input"
    assert past_the_end.json()["code"] == "event.outside_calendar"
    assert ok(org.get(f"{API}/events"))["total"] == 0


def _times(events):
    return [(e["id"], e["starts_at"], e["ends_at"]) for e in events]


def test_an_edit_of_the_following_occurrences_is_held_to_the_rules_of_a_single_event(client):
    org, series = _weekly_in_madrid(client, 3)
    first = series["occurrences"][0]
    longer = {"ends_at": "2030-10-28T12:00:00+01:00"}  # fifteen days from the first
    response = org.patch(f"{API}/events/{first['id']}", params={"scope": "following"}, json=longer)
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["code"] == "event.too_long"
    assert _times(_occurrences(org, series["id"])) == _times(series["occurrences"])

    late = ok(
        _series(org, "FREQ=WEEKLY;COUNT=3", "2200-12-01T10:00:00Z", "2200-12-01T11:00:00Z"), 201
    )
    # The edited occurrence moves to 20 December 2200; the last would go to 3 January 2201.
    later = {"starts_at": "2200-12-20T10:00:00Z", "ends_at": "2200-12-20T11:00:00Z"}
    first_late = late["occurrences"][0]
    response = org.patch(
        f"{API}/events/{first_late['id']}", params={"scope": "following"}, json=later
    )
    assert problem_type(response, 422) == "/problems/invalid-input"
    assert response.json()["code"] == "event.outside_calendar"
    assert _times(_occurrences(org, late["id"])) == _times(late["occurrences"])
