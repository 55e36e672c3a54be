from __future__ import annotations

from tests.factories import add_event, add_person, invite_member, new_org, ok, unique


def test_people_are_created_listed_filtered_and_updated(client):
    org = new_org(client)
    alice = ok(
        org.post(
            "/api/v1/people",
            json={
                "name": "Alice Zhou",
                "email": f"{unique('alice')}@Example.org",
                "roles": ["usher", "greeter", "usher"],
                "language": "zh-CN",
            },
        ),
        201,
    )
    assert alice["email"].islower()
    assert alice["roles"] == ["greeter", "usher"]
    add_person(org, roles=["musician"], name="Bob")
    ushers = ok(org.get("/api/v1/people", params={"role": "usher"}))
    assert [p["id"] for p in ushers["items"]] == [alice["id"]]
    found = ok(org.get("/api/v1/people", params={"q": "zhou"}))
    assert [p["id"] for p in found["items"]] == [alice["id"]]
    updated = ok(
        org.patch(f"/api/v1/people/{alice['id']}", json={"active": False, "roles": ["musician"]})
    )
    assert (updated["active"], updated["roles"]) == (False, ["musician"])
    inactive = ok(org.get("/api/v1/people", params={"active": "false"}))
    assert [p["id"] for p in inactive["items"]] == [alice["id"]]


def test_an_email_is_unique_within_an_organisation_only(client):
    org, other = new_org(client), new_org(client)
    email = f"{unique('same')}@example.org"
    ok(org.post("/api/v1/people", json={"name": "A", "email": email}), 201)
    duplicate = org.post("/api/v1/people", json={"name": "B", "email": email.upper()})
    assert duplicate.status_code == 409
    ok(other.post("/api/v1/people", json={"name": "A", "email": email}), 201)


def test_unknown_fields_and_bad_values_are_reported(client):
    org = new_org(client)
    response = org.post(
        "/api/v1/people",
        json={"name": "A", "email": "not-an-email", "colour": "blue", "language": "xx"},
    )
    assert response.status_code == 422
    fields = {tuple(e["loc"])[-1] for e in response.json()["errors"]}
    assert {"email", "colour", "language"} <= fields


def test_the_last_admin_cannot_step_down_or_be_deleted(client):
    org = new_org(client)
    me = ok(org.get("/api/v1/me"))["person"]
    assert (
        org.put(f"/api/v1/people/{me['id']}/member-role", json={"role": "volunteer"}).status_code
        == 409
    )
    assert org.delete(f"/api/v1/people/{me['id']}").status_code == 409
    second = invite_member(org, role="volunteer")
    second_person = ok(second.get("/api/v1/me"))["person"]
    ok(org.put(f"/api/v1/people/{second_person['id']}/member-role", json={"role": "admin"}))
    ok(org.put(f"/api/v1/people/{me['id']}/member-role", json={"role": "scheduler"}))
    assert ok(org.get("/api/v1/me"))["role"] == "scheduler"


def test_deleting_a_person_frees_their_places(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    volunteer = invite_member(org, roles=["usher"])
    ok(volunteer.post(f"/api/v1/events/{event['id']}/signups", json={"role": "usher"}), 201)
    person = ok(volunteer.get("/api/v1/me"))["person"]
    assert org.delete(f"/api/v1/people/{person['id']}").status_code == 204
    assert ok(org.get(f"/api/v1/events/{event['id']}"))["slots"][0]["filled"] == 0
    assert volunteer.get("/api/v1/me").status_code == 401  # membership ended


def test_volunteers_edit_their_own_profile_only(client):
    org = new_org(client)
    volunteer = invite_member(org)
    me = ok(volunteer.patch("/api/v1/me", json={"name": "Renamed", "language": "fr"}))
    assert (me["person"]["name"], me["person"]["language"]) == ("Renamed", "fr")
    refused = volunteer.patch("/api/v1/me", json={"active": False})
    assert refused.status_code == 422


def test_every_change_is_in_the_audit_log(client):
    org = new_org(client)
    person = add_person(org)
    ok(org.patch(f"/api/v1/people/{person['id']}", json={"name": "Changed"}))
    entries = ok(org.get("/api/v1/audit", params={"entity": "person"}))["items"]
    assert [(e["action"], e["entity_id"]) for e in entries] == [
        ("update", person["id"]),
        ("create", person["id"]),
    ]
    assert entries[0]["changes"] == {"name": "Changed"}


def test_search_matches_percent_underscore_and_backslash_literally(client):
    org = new_org(client)
    names = ["100% sure", "1000 sure", "Anna_Smith", "AnnaXSmith", "C:\\dir", "C:dir", "a/b"]
    ids = {name: add_person(org, name=name)["id"] for name in names}

    def found(q):
        return {p["id"] for p in ok(org.get("/api/v1/people", params={"q": q}))["items"]}

    assert found("%") == {ids["100% sure"]}
    assert found("0% s") == {ids["100% sure"]}
    assert found("a_s") == {ids["Anna_Smith"]}
    assert found("_") == {ids["Anna_Smith"]}
    assert found("\\") == {ids["C:\\dir"]}
    assert found(":\\d") == {ids["C:\\dir"]}
    assert found("/") == {ids["a/b"]}
    assert found("anna") == {ids["Anna_Smith"], ids["AnnaXSmith"]}
