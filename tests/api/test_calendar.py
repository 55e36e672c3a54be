"""Calendar feeds: secret, revocable iCalendar URLs, read back with an independent parser
(vobject), with local times right on both sides of a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject
from fastapi.testclient import TestClient
from sqlalchemy import select

from signupflow.calendar import service as calendar_service
from signupflow.calendar.models import CalendarFeed
from signupflow.db.session import unit_of_work
from signupflow.errors import NotFound
from tests.factories import Org, add_person, invite_member, new_org, ok, person_id_of

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
MADRID = ZoneInfo("Europe/Madrid")
# Summer time in Spain ends on the last Sunday of October 2031, the 26th.
BEFORE_CHANGE = "2031-10-19T10:00:00+02:00"
AFTER_CHANGE = "2031-11-02T10:00:00+01:00"


def event_at(org: Org, starts_at: str, title: str, status: str = "published") -> Any:
    starts = datetime.fromisoformat(starts_at)
    return ok(
        org.post(
            f"{API}/events",
            json={
                "title": title,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1, minutes=30)).isoformat(),
                "location": "Catedral",
                "status": status,
                "slots": [{"role": "usher", "capacity": 3}],
            },
        ),
        201,
    )


def assign(org: Org, event: Any, person: Any) -> Any:
    return ok(
        org.post(
            f"{API}/events/{event['id']}/assignments",
            json={"person_id": person["id"], "role": "usher"},
        ),
        201,
    )


def fetch(client: TestClient, url: str) -> Any:
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = client.get(f"/{path}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "private" in response.headers["cache-control"]
    return response


def parsed(client: TestClient, url: str) -> Any:
    return vobject.readOne(fetch(client, url).text)


def events_of(calendar: Any) -> dict[str, Any]:
    return {str(e.summary.value): e for e in getattr(calendar, "vevent_list", [])}


@pytest.fixture
def madrid(client: TestClient) -> tuple[Org, Any]:
    org = new_org(client, timezone="Europe/Madrid")
    person = add_person(org, name="Lucía")
    return org, person


def test_a_persons_feed_shows_local_times_across_the_daylight_saving_change(
    client: TestClient, madrid: tuple[Org, Any]
) -> None:
    org, person = madrid
    before, after = event_at(org, BEFORE_CHANGE, "Before"), event_at(org, AFTER_CHANGE, "After")
    assign(org, before, person)
    assign(org, after, person)
    event_at(org, BEFORE_CHANGE, "Not mine")

    feed = ok(org.put(f"{API}/people/{person['id']}/calendar-feed"))
    assert feed["scope"] == "person"
    calendar = parsed(client, feed["https_url"])

    assert calendar.vtimezone.tzid.value == "Europe/Madrid"
    found = events_of(calendar)
    assert set(found) == {"Before (usher)", "After (usher)"}
    for name, offset in (("Before (usher)", 2), ("After (usher)", 1)):
        start = found[name].dtstart.value
        assert (start.hour, start.minute) == (10, 0), name
        assert start.utcoffset() == timedelta(hours=offset), name
        assert found[name].dtend.value.astimezone(MADRID).strftime("%H:%M") == "11:30"
        assert found[name].location.value == "Catedral"
        assert found[name].status.value == "TENTATIVE"  # placed, not yet answered
    assert found["Before (usher)"].uid.value == f"event-{before['id']}@127.0.0.1"
    assert all(e.dtstamp.value.tzinfo is not None for e in found.values())


def test_a_persons_feed_marks_only_accepted_places_confirmed(client: TestClient) -> None:
    # A place the volunteer has not answered is TENTATIVE; accepted, CONFIRMED; declined, gone.
    org = new_org(client, timezone="Europe/Madrid")
    member = invite_member(org)
    person = {"id": person_id_of(member)}
    answered = {
        title: assign(org, event_at(org, BEFORE_CHANGE, title), person)
        for title in ("Asked", "Accepted", "Declined")
    }
    ok(member.post(f"{API}/assignments/{answered['Accepted']['id']}/accept"))
    ok(member.post(f"{API}/assignments/{answered['Declined']['id']}/decline"))
    feed = ok(member.put(f"{API}/calendar/feeds/me"))
    found = events_of(parsed(client, feed["https_url"]))
    statuses = {name: event.status.value for name, event in found.items()}
    assert statuses == {"Asked (usher)": "TENTATIVE", "Accepted (usher)": "CONFIRMED"}


def test_the_document_is_valid_rfc_5545_text(client: TestClient, madrid: tuple[Org, Any]) -> None:
    org, person = madrid
    assign(org, event_at(org, BEFORE_CHANGE, "Vísperas, «solemnes»; día 1"), person)
    feed = ok(org.put(f"{API}/people/{person['id']}/calendar-feed"))
    body = fetch(client, feed["https_url"]).content
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"VERSION:2.0\r\n" in body
    assert b"PRODID:" in body
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))  # folded lines, in octets
    assert b"SUMMARY:V\xc3\xadsperas\\, \xc2\xabsolemnes\xc2\xbb\\; d\xc3\xada 1 (usher)" in body
    assert b"DTSTART;TZID=Europe/Madrid:20311019T100000" in body


def test_uid_is_stable_and_sequence_counts_edits_and_cancellation_shows(
    client: TestClient, madrid: tuple[Org, Any]
) -> None:
    org, person = madrid
    event = event_at(org, AFTER_CHANGE, "Mass")
    assign(org, event, person)
    feed = ok(org.put(f"{API}/calendar/feeds/organisation"))
    first = events_of(parsed(client, feed["https_url"]))["Mass"]
    again = fetch(client, feed["https_url"]).content
    assert again == fetch(client, feed["https_url"]).content  # same data, same bytes

    ok(org.patch(f"{API}/events/{event['id']}", json={"location": "Capilla"}))
    ok(org.patch(f"{API}/events/{event['id']}", json={"status": "cancelled"}))
    edited = events_of(parsed(client, feed["https_url"]))["Mass"]
    assert edited.uid.value == first.uid.value
    assert (int(first.sequence.value), int(edited.sequence.value)) == (0, 2)
    assert edited.status.value == "CANCELLED"
    assert edited.dtstamp.value >= first.dtstamp.value


def test_the_organisation_feed_has_published_events_only(
    client: TestClient, madrid: tuple[Org, Any]
) -> None:
    org, _ = madrid
    event_at(org, BEFORE_CHANGE, "Public")
    event_at(org, BEFORE_CHANGE, "Draft", status="draft")
    feed = ok(org.put(f"{API}/calendar/feeds/organisation"))
    assert feed["scope"] == "organisation"
    assert set(events_of(parsed(client, feed["https_url"]))) == {"Public"}


def test_urls_follow_the_request_host_and_offer_webcal(client: TestClient) -> None:
    org = new_org(client)
    feed = ok(client.put(f"{API}/calendar/feeds/me", headers={**org.headers, "Host": "localhost"}))
    assert feed["https_url"].startswith("http://localhost/api/v1/calendar/")
    assert feed["https_url"].endswith(".ics")
    assert feed["webcal_url"] == "webcal://" + feed["https_url"].split("://", 1)[1]
    token = feed["https_url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 40


def test_rotating_or_revoking_makes_the_old_url_not_found(client: TestClient) -> None:
    org = new_org(client)
    volunteer = invite_member(org)
    first = ok(volunteer.put(f"{API}/calendar/feeds/me"))
    fetch(client, first["https_url"])
    second = ok(volunteer.put(f"{API}/calendar/feeds/me"))
    assert second["https_url"] != first["https_url"]
    gone = client.get(first["https_url"].replace("http://testserver", ""))
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM_JSON
    fetch(client, second["https_url"])

    ok(volunteer.delete(f"{API}/calendar/feeds/me"), 204)
    assert client.get(second["https_url"].replace("http://testserver", "")).status_code == 404

    # An admin can revoke a person's feed too.
    me = ok(volunteer.get(f"{API}/me"))["person"]["id"]
    third = ok(volunteer.put(f"{API}/calendar/feeds/me"))
    ok(org.delete(f"{API}/people/{me}/calendar-feed"), 204)
    assert client.get(third["https_url"].replace("http://testserver", "")).status_code == 404


def test_the_owner_sees_the_same_link_again_until_it_is_replaced(client: TestClient) -> None:
    org = new_org(client)
    volunteer = invite_member(org)
    own = f"{API}/calendar/feeds/me"
    theirs = f"{API}/people/{person_id_of(volunteer)}/calendar-feed"
    for caller, path in [(volunteer, own), (org, f"{API}/calendar/feeds/organisation")]:
        missing = caller.get(path)
        assert missing.status_code == 404, path
        assert missing.json()["code"] == "calendar.no_feed"
        made = ok(caller.put(path))
        assert ok(caller.get(path)) == made  # shown again: the same URL
        fetch(client, made["https_url"])
    # The admin sees the volunteer's link, and a replacement is what the volunteer sees next.
    assert ok(org.get(theirs)) == ok(volunteer.get(own))
    replaced = ok(org.put(theirs))
    assert ok(volunteer.get(own)) == replaced
    ok(volunteer.delete(own), 204)
    assert volunteer.get(own).json()["code"] == "calendar.no_feed"


def test_a_link_is_made_again_with_the_key_that_made_it(client: TestClient) -> None:
    # After SECRET_KEY rotates (the old key in PREVIOUS_SECRET_KEYS) the link is unchanged;
    # a feed from before revision 0009 (no salt) or from a dropped key cannot be shown.
    org = new_org(client)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with unit_of_work(factory) as session:
        token = calendar_service.rotate_feed(
            session, organisation_id=org.id, person_id=None, key="old-key"
        )
    owner = {"organisation_id": org.id, "person_id": None}
    with unit_of_work(factory) as session:
        assert calendar_service.current_token(session, **owner, keys=["new", "old-key"]) == token
        with pytest.raises(NotFound) as dropped:
            calendar_service.current_token(session, **owner, keys=["new"])
        assert dropped.value.code == "calendar.feed_hidden"
        feed = session.scalars(select(CalendarFeed).where(CalendarFeed.organisation_id == org.id))
        next(iter(feed)).token_salt = None
    with unit_of_work(factory) as session, pytest.raises(NotFound) as unsalted:
        calendar_service.current_token(session, **owner, keys=["new", "old-key"])
    assert unsalted.value.code == "calendar.feed_hidden"


@pytest.mark.parametrize("token", ["A" * 43, "short", "has.dot.in.it.xxxxxxxx"])
def test_an_unknown_or_malformed_token_is_a_problem(client: TestClient, token: str) -> None:
    response = client.get(f"{API}/calendar/{token}.ics")
    assert response.status_code in (404, 422)
    assert response.headers["content-type"] == PROBLEM_JSON


def test_only_admins_manage_the_organisation_feed_and_other_peoples_feeds(
    client: TestClient,
) -> None:
    org = new_org(client)
    volunteer = invite_member(org)
    person = add_person(org)
    assert volunteer.put(f"{API}/calendar/feeds/organisation").status_code == 403
    assert volunteer.delete(f"{API}/calendar/feeds/organisation").status_code == 403
    assert volunteer.put(f"{API}/people/{person['id']}/calendar-feed").status_code == 403
    assert client.put(f"{API}/calendar/feeds/me").status_code == 401


def test_one_event_downloads_as_ics_for_members_only(
    client: TestClient, madrid: tuple[Org, Any]
) -> None:
    org, _ = madrid
    event = event_at(org, AFTER_CHANGE, "Download me")
    draft = event_at(org, AFTER_CHANGE, "Secret draft", status="draft")
    volunteer = invite_member(org)
    response = volunteer.get(f"{API}/events/{event['id']}/calendar.ics")
    assert response.status_code == 200
    assert f'filename="event-{event["id"]}.ics"' in response.headers["content-disposition"]
    [only] = vobject.readOne(response.text).vevent_list
    assert only.summary.value == "Download me"
    assert only.dtstart.value.hour == 10
    assert volunteer.get(f"{API}/events/{draft['id']}/calendar.ics").status_code == 404
    assert client.get(f"{API}/events/{event['id']}/calendar.ics").status_code == 401
    other = new_org(client)
    assert other.get(f"{API}/events/{event['id']}/calendar.ics").status_code == 404


def test_a_busy_feed_keeps_the_newest_events_in_order(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar_service, "FEED_LIMIT", 3)
    org = new_org(client)
    person = add_person(org)
    now = datetime.now(UTC).replace(microsecond=0)
    # Created out of order, so neither id nor insertion order gives the answer.
    for days in (30, -20, 10, -10, 20):
        event = event_at(org, (now + timedelta(days=days)).isoformat(), f"Day {days}")
        assign(org, event, person)
    organisation_feed = ok(org.put(f"{API}/calendar/feeds/organisation"))
    person_feed = ok(org.put(f"{API}/people/{person['id']}/calendar-feed"))
    for url in (organisation_feed["https_url"], person_feed["https_url"]):
        summaries = [str(e.summary.value) for e in parsed(client, url).vevent_list]
        assert [s.split(" (")[0] for s in summaries] == ["Day 10", "Day 20", "Day 30"], url
