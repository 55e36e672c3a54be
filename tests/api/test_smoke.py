from tests.factories import add_event, add_person, invite_member, new_org, ok


def test_volunteer_signs_up_for_an_open_slot(client):
    org = new_org(client)
    event = add_event(org, slots=[{"role": "usher", "capacity": 1}])
    volunteer = invite_member(org, roles=["usher"])
    assignment = ok(
        volunteer.post(f"/api/v1/events/{event['id']}/signups", json={"role": "usher"}), 201
    )
    assert assignment["source"] == "self_signup"
    assert ok(org.get(f"/api/v1/events/{event['id']}"))["slots"][0]["filled"] == 1
    other = add_person(org)
    assert other["roles"] == ["usher"]
