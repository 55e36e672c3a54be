"""Two app processes sharing Redis behave as one: a session revoked through one is refused by
the other, and rate limits count requests made to both."""

from __future__ import annotations

import httpx

from tests.support.signup import mailed_signup_token_in, signup_body

PASSWORD = "correct horse battery"


def sign_up(url: str, slug: str, env: dict[str, str]) -> dict[str, str]:
    """Sign up and follow the link mailed through the outbox of the database in `env`."""
    email = f"admin@{slug}.example.org"
    body = signup_body(slug, email, PASSWORD, organisation_name=slug.title())
    response = httpx.post(f"{url}/api/v1/auth/signup", json=body, timeout=30)
    assert response.status_code == 202, response.text
    token = mailed_signup_token_in(env["DATABASE_URL"], email)
    response = httpx.post(f"{url}/api/v1/auth/signup/confirm", json={"token": token}, timeout=30)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_logout_on_one_instance_is_honoured_by_the_other(prod_env, launch):
    first, second = launch(prod_env), launch(prod_env)
    headers = sign_up(first.url, "shared-logout", prod_env)
    assert httpx.get(f"{second.url}/api/v1/me", headers=headers).status_code == 200
    assert httpx.post(f"{first.url}/api/v1/auth/logout", headers=headers).status_code == 204
    refused = httpx.get(f"{second.url}/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "session has been logged out"


def test_login_rate_limit_counts_attempts_on_both_instances(prod_env, launch):
    env = {**prod_env, "LOGIN_ATTEMPTS_PER_MINUTE": "6"}
    first, second = launch(env), launch(env)
    sign_up(first.url, "shared-limit", env)
    body = {"email": "admin@shared-limit.example.org", "password": "wrong password"}
    statuses = [
        httpx.post(f"{(first, second)[i % 2].url}/api/v1/auth/login", json=body).status_code
        for i in range(8)
    ]
    assert statuses[:6] == [401] * 6
    assert statuses[6:] == [429, 429]
    limited = httpx.post(f"{second.url}/api/v1/auth/login", json=body)
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_api_rate_limit_counts_requests_on_both_instances(prod_env, launch):
    env = {**prod_env, "API_REQUESTS_PER_MINUTE": "10"}
    first, second = launch(env), launch(env)
    headers = sign_up(first.url, "shared-api-limit", env)
    statuses = [
        httpx.get(f"{(first, second)[i % 2].url}/api/v1/me", headers=headers).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429, 429]
