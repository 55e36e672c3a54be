"""An invitation to an address that already has an account joins that account only when it
is logged in as itself: the invitation is never a way to try passwords."""

from __future__ import annotations

from tests.factories import PASSWORD, Org, new_org, ok

API = "/api/v1"


def _invite(org: Org, email: str) -> str:
    created = ok(org.post(f"{API}/invitations", json={"email": email, "name": "Target"}), 201)
    token: str = created["token"]
    return token


def test_an_invitation_never_checks_the_existing_accounts_password(client):
    victim, attacker = new_org(client), new_org(client)
    token = _invite(attacker, victim.email)
    for password in ("a wrong guess 1", PASSWORD):
        refused = client.post(
            f"{API}/invitations/accept", json={"token": token, "password": password}
        )
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "invitation.login_required"
    # Still pending: the right password did not accept it either.
    listed = ok(attacker.get(f"{API}/invitations"))["items"]
    assert listed[0]["state"] == "pending"


def test_an_existing_account_accepts_while_logged_in_as_itself(client):
    member, inviter = new_org(client), new_org(client)
    token = _invite(inviter, member.email)
    tokens = ok(
        client.post(f"{API}/invitations/accept", json={"token": token}, headers=member.headers)
    )
    assert tokens["organisation_id"] == inviter.id
    me = ok(client.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert (me["email"], me["organisation"]["id"]) == (member.email, inviter.id)


def test_logged_in_as_another_account_an_existing_accounts_invitation_is_refused(client):
    member, inviter, bystander = new_org(client), new_org(client), new_org(client)
    token = _invite(inviter, member.email)
    refused = client.post(
        f"{API}/invitations/accept", json={"token": token}, headers=bystander.headers
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == "invitation.login_required"


def test_a_new_account_still_chooses_its_password_when_accepting(client):
    inviter = new_org(client)
    email = "newcomer-" + inviter.slug + "@example.org"
    token = _invite(inviter, email)
    missing = client.post(f"{API}/invitations/accept", json={"token": token})
    assert (missing.status_code, missing.json()["code"]) == (422, "invitation.password_missing")
    ok(client.post(f"{API}/invitations/accept", json={"token": token, "password": PASSWORD}))
    ok(client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD}))
