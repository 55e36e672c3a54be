from __future__ import annotations

from tests.factories import add_person, invite_member, new_org, ok


def test_teams_hold_members_of_the_organisation(client):
    org = new_org(client)
    a, b = add_person(org), add_person(org)
    team = ok(
        org.post("/api/v1/teams", json={"name": "Welcome", "member_ids": [b["id"], a["id"]]}), 201
    )
    assert team["member_ids"] == sorted([a["id"], b["id"]])
    assert org.post("/api/v1/teams", json={"name": "Welcome"}).status_code == 409
    updated = ok(org.patch(f"/api/v1/teams/{team['id']}", json={"member_ids": [a["id"]]}))
    assert updated["member_ids"] == [a["id"]]
    assert (
        org.patch(f"/api/v1/teams/{team['id']}", json={"member_ids": [999_999_999]}).status_code
        == 404
    )
    assert ok(org.get("/api/v1/teams"))["total"] == 1
    assert org.delete(f"/api/v1/teams/{team['id']}").status_code == 204


def test_people_manage_their_own_availability_and_time_off(client):
    org = new_org(client)
    volunteer = invite_member(org)
    me = ok(volunteer.get("/api/v1/me"))["person"]
    window = ok(
        volunteer.post(
            f"/api/v1/people/{me['id']}/availability",
            json={"weekday": 6, "start_time": "08:00", "end_time": "13:00"},
        ),
        201,
    )
    leave = ok(
        volunteer.post(
            f"/api/v1/people/{me['id']}/time-off",
            json={"starts_on": "2031-08-01", "ends_on": "2031-08-07", "reason": "holiday"},
        ),
        201,
    )
    seen = ok(org.get(f"/api/v1/people/{me['id']}/availability"))
    assert [w["id"] for w in seen["windows"]] == [window["id"]]
    assert [t["id"] for t in seen["time_off"]] == [leave["id"]]
    assert volunteer.delete(f"/api/v1/availability/{window['id']}").status_code == 204
    assert volunteer.delete(f"/api/v1/time-off/{leave['id']}").status_code == 204
    assert ok(volunteer.get(f"/api/v1/people/{me['id']}/availability")) == {
        "windows": [],
        "time_off": [],
    }


def test_volunteers_cannot_touch_someone_elses_availability(client):
    org = new_org(client)
    volunteer = invite_member(org)
    other = add_person(org)
    assert volunteer.get(f"/api/v1/people/{other['id']}/availability").status_code == 403
    assert (
        volunteer.post(
            f"/api/v1/people/{other['id']}/time-off",
            json={"starts_on": "2031-08-01", "ends_on": "2031-08-02"},
        ).status_code
        == 403
    )


def test_invalid_windows_are_rejected(client):
    org = new_org(client)
    person = add_person(org)
    path = f"/api/v1/people/{person['id']}/availability"
    assert (
        org.post(path, json={"weekday": 7, "start_time": "08:00", "end_time": "09:00"}).status_code
        == 422
    )
    assert (
        org.post(path, json={"weekday": 1, "start_time": "10:00", "end_time": "09:00"}).status_code
        == 422
    )
    leave = f"/api/v1/people/{person['id']}/time-off"
    assert (
        org.post(leave, json={"starts_on": "2031-08-05", "ends_on": "2031-08-01"}).status_code
        == 422
    )


def test_people_are_listed_by_team(client):
    org = new_org(client)
    a, b, c = add_person(org, name="Ana"), add_person(org, name="Ben"), add_person(org, name="Cy")
    team = ok(
        org.post("/api/v1/teams", json={"name": "Choir", "member_ids": [a["id"], c["id"]]}), 201
    )
    listed = ok(org.get("/api/v1/people", params={"team_id": team["id"]}))
    assert [p["name"] for p in listed["items"]] == ["Ana", "Cy"]
    assert listed["total"] == 2
    everyone = {p["name"] for p in ok(org.get("/api/v1/people"))["items"]}
    assert everyone >= {"Ana", "Ben", "Cy"}
    # Another organisation's team shows none of this one's people, and reveals nothing.
    other = new_org(client)
    theirs = ok(other.post("/api/v1/teams", json={"name": "Choir"}), 201)
    assert ok(org.get("/api/v1/people", params={"team_id": theirs["id"]}))["items"] == []
    assert b["id"] not in [p["id"] for p in listed["items"]]
