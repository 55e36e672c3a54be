"""One unit of work per request: commit when the route returns, roll back when it raises."""

from __future__ import annotations

from sqlalchemy import event

from tests.factories import add_event, invite_member, new_org, ok, unique


class CommitRefused(RuntimeError):
    pass


def test_a_route_whose_commit_fails_never_answers_2xx_and_keeps_nothing(client, app):
    org = new_org(client)
    email = f"{unique('uow')}@example.org"
    factory = app.state.session_factory

    def refuse(_session):
        raise CommitRefused("simulated commit failure")

    event.listen(factory, "before_commit", refuse)
    try:
        response = org.post("/api/v1/people", json={"name": "Lost", "email": email})
    finally:
        event.remove(factory, "before_commit", refuse)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "simulated" not in response.text  # no internals leak to the client
    people = ok(org.get("/api/v1/people", params={"q": email}))
    assert people["total"] == 0


def test_a_rejected_update_changes_nothing(client):
    org = new_org(client)
    created = add_event(org, slots=[{"role": "usher", "capacity": 2}])
    volunteer = invite_member(org, roles=["usher"])
    ok(volunteer.post(f"/api/v1/events/{created['id']}/signups", json={"role": "usher"}), 201)
    # The title change is applied in the session first; the slot removal then fails.
    response = org.patch(f"/api/v1/events/{created['id']}", json={"title": "Renamed", "slots": []})
    assert response.status_code == 409
    assert "sign-ups" in response.json()["detail"]
    after = ok(org.get(f"/api/v1/events/{created['id']}"))
    assert after["title"] == created["title"]
    assert after["slots"][0]["filled"] == 1
    updates = ok(org.get("/api/v1/audit", params={"entity": "event"}))["items"]
    assert [entry["action"] for entry in updates] == ["create"]
