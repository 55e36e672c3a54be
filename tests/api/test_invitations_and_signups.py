from __future__ import annotations

from datetime import timedelta

from tests.factories import PASSWORD, add_event, add_person, invite_member, new_org, ok, unique


def test_an_invitation_is_single_use(client):
    org = new_org(client)
    invitation = ok(
        org.post(
            "/api/v1/invitations",
            json={"email": f"{unique('inv')}@example.org", "name": "New", "roles": ["usher"]},
        ),
        201,
    )
    assert invitation["state"] == "pending"
    assert invitation["token"] in invitation["accept_url"]
    body = {"token": invitation["token"], "password": PASSWORD}
    ok(client.post("/api/v1/invitations/accept", json=body))
    assert client.post("/api/v1/invitations/accept", json=body).status_code == 404
    listed = ok(org.get("/api/v1/invitations"))["items"]
    assert listed[0]["state"] == "accepted"
    assert "token" not in listed[0]


def test_a_revoked_or_replaced_invitation_cannot_be_accepted(client):
    org = new_org(client)
    email = f"{unique('inv')}@example.org"
    first = ok(org.post("/api/v1/invitations", json={"email": email, "name": "N"}), 201)
    second = ok(org.post("/api/v1/invitations", json={"email": email, "name": "N"}), 201)
    assert (
        client.post(
            "/api/v1/invitations/accept", json={"token": first["token"], "password": PASSWORD}
        ).status_code
        == 404
    )
    assert org.delete(f"/api/v1/invitations/{second['id']}").status_code == 204
    assert org.delete(f"/api/v1/invitations/{second['id']}").status_code == 409
    assert (
        client.post(
            "/api/v1/invitations/accept", json={"token": second["token"], "password": PASSWORD}
        ).status_code
        == 404
    )


def test_inviting_an_existing_person_links_their_profile(client):
    org = new_org(client)
    person = add_person(org, roles=["greeter"])
    invitation = ok(
        org.post("/api/v1/invitations", json={"email": person["email"], "name": "ignored"}), 201
    )
    assert invitation["person_id"] == person["id"]
    tokens = ok(
        client.post(
            "/api/v1/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
        )
    )
    me = ok(client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert me["person"]["id"] == person["id"]
    assert me["person"]["roles"] == ["greeter"]
    assert (
        org.post(
            "/api/v1/invitations", json={"email": person["email"], "name": "again"}
        ).status_code
        == 409
    )


def test_a_volunteer_cannot_sign_up_for_a_full_slot(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    first, second = invite_member(org, roles=["usher"]), invite_member(org, roles=["usher"])
    ok(first.post(f"/api/v1/events/{event['id']}/signups", json={"role": "usher"}), 201)
    full = second.post(f"/api/v1/events/{event['id']}/signups", json={"role": "usher"})
    assert (full.status_code, full.json()["type"]) == (409, "/problems/slot-full")


def test_sign_up_rules(client):
    org = new_org(client)
    event = add_event(
        org, slots=[{"role": "usher", "capacity": 3}, {"role": "greeter", "capacity": 3}]
    )
    volunteer = invite_member(org, roles=["usher", "greeter"])
    path = f"/api/v1/events/{event['id']}/signups"
    assert volunteer.post(path, json={"role": "musician"}).status_code == 409  # role not held
    created = ok(volunteer.post(path, json={"role": "usher"}), 201)
    again = volunteer.post(path, json={"role": "greeter"})
    assert (again.status_code, again.json()["type"]) == (409, "/problems/already-assigned")
    draft = add_event(org, status="draft")
    assert (
        volunteer.post(f"/api/v1/events/{draft['id']}/signups", json={"role": "usher"}).status_code
        == 404
    )
    past = add_event(org, starts_in=timedelta(days=-1))
    assert (
        volunteer.post(f"/api/v1/events/{past['id']}/signups", json={"role": "usher"}).status_code
        == 409
    )
    me = ok(volunteer.get("/api/v1/me"))["person"]
    mine = ok(volunteer.get("/api/v1/assignments", params={"person_id": me["id"]}))
    assert [a["id"] for a in mine["items"]] == [created["id"]]
    assert volunteer.get("/api/v1/assignments").status_code == 403
    assert volunteer.delete(f"/api/v1/assignments/{created['id']}").status_code == 204
    assert ok(org.get(f"/api/v1/events/{event['id']}"))["slots"][1]["filled"] == 0


def test_schedulers_assign_people_who_hold_the_role(client):
    org = new_org(client)
    event = add_event(org, status="draft", slots=[{"role": "usher", "capacity": 1}])
    usher, musician = add_person(org, roles=["usher"]), add_person(org, roles=["musician"])
    path = f"/api/v1/events/{event['id']}/assignments"
    assert org.post(path, json={"person_id": musician["id"], "role": "usher"}).status_code == 409
    assigned = ok(org.post(path, json={"person_id": usher["id"], "role": "usher"}), 201)
    assert (assigned["status"], assigned["source"]) == ("pending", "manual")
    volunteer = invite_member(org, roles=["usher"])
    other = ok(volunteer.get("/api/v1/me"))["person"]
    assert org.post(path, json={"person_id": other["id"], "role": "usher"}).status_code == 409
    assert volunteer.delete(f"/api/v1/assignments/{assigned['id']}").status_code == 403
