"""Every route that checks a secret is listed in one registry (auth/secret_checks.py) and
answers 429 with Retry-After once a target or a client address has spent its budget."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from signupflow.api import ROUTERS
from signupflow.app import create_app
from signupflow.auth.secret_checks import SECRET_CHECKS, secret_budget
from tests.factories import PASSWORD, Org, new_org, unique
from tests.support.settings import make_settings
from tests.support.signup import signup_body

API = "/api/v1"
# Request fields and path parameters that carry a secret.
SECRET_FIELDS = {"password", "current_password", "new_password", "token", "refresh_token"}


def _schema_fields(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    fields = set(schema.get("properties", {}))
    for part in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        fields |= _schema_fields(document, part)
    return fields


def _operations_taking_a_secret(document: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            fields = {p["name"] for p in operation.get("parameters", [])}
            for content in operation.get("requestBody", {}).get("content", {}).values():
                fields |= _schema_fields(document, content["schema"])
            if fields & SECRET_FIELDS:
                found.add((method.upper(), path))
    return found


def test_every_route_that_takes_a_password_or_a_token_is_in_the_registry(app: FastAPI) -> None:
    taking = _operations_taking_a_secret(app.openapi())
    assert ("GET", f"{API}/calendar/{{token}}.ics") in taking  # the walk sees path tokens
    assert ("POST", f"{API}/invitations/accept") in taking
    assert taking - set(SECRET_CHECKS) == set()


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def test_every_route_in_the_registry_exists_and_spends_its_budget() -> None:
    routes = {
        (method, route.path): route
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    for key in SECRET_CHECKS:
        assert key in routes, f"{key} is listed but not served"
        assert _depends_on(routes[key].dependant, secret_budget), f"{key} is not limited"


# Small budgets: per target 2 (logins), 1 (resets, sign-ups), 30 (calendar fetches).
LIMITS = {
    "login_attempts_per_minute": 2,
    "password_reset_requests_per_minute": 1,
    "signup_requests_per_minute": 1,
    "api_requests_per_minute": 35,
}


@pytest.fixture(scope="module")
def limited(database_url: str) -> Iterator[FastAPI]:
    app = create_app(make_settings(database_url, **LIMITS))
    with TestClient(app):  # runs the lifespan once; clients below share its engines
        yield app


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 50000))


def _random_token() -> str:
    return secrets.token_urlsafe(32)


class Caller:
    """Builds one request to a registered route against target number `n`."""

    def __init__(self, client: TestClient) -> None:
        self.client = client  # the unlimited session client, for setting up accounts
        self.orgs: dict[int, Org] = {}
        self.tokens: dict[int, str] = {}
        self.prefix = unique("t")

    def token(self, n: int) -> str:
        return self.tokens.setdefault(n, _random_token())

    def org(self, n: int) -> Org:
        if n not in self.orgs:
            self.orgs[n] = new_org(self.client)
        return self.orgs[n]

    def send(self, http: TestClient, key: tuple[str, str], n: int) -> Any:
        email = f"{self.prefix}-{n}@example.org"
        path = key[1]
        if path.endswith("/login"):
            return http.post(path, json={"email": email, "password": "a wrong guess"})
        if path.endswith("/auth/password"):
            body = {"current_password": "a wrong guess", "new_password": "a new passphrase"}
            return http.post(path, json=body, headers=self.org(n).headers)
        if path.endswith("/refresh"):
            return http.post(path, json={"refresh_token": self.token(n)})
        if path.endswith("/signup"):
            return http.post(path, json=signup_body(f"{self.prefix}-{n}", email, PASSWORD))
        if path.endswith("/password-reset"):
            return http.post(path, json={"email": email})
        if path.endswith("/password-reset/confirm"):
            return http.post(path, json={"token": self.token(n), "password": PASSWORD})
        if path.endswith("/signup/confirm"):
            return http.post(path, json={"token": self.token(n)})
        if path.endswith("/invitations/preview"):
            return http.post(path, json={"token": self.token(n)})
        if path.endswith("/invitations/accept"):
            return http.post(path, json={"token": self.token(n), "password": PASSWORD})
        if path.endswith(".ics"):
            return http.get(path.replace("{token}", self.token(n)))
        raise AssertionError(f"no request for {key}: add one here")


def _assert_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["code"] == "request.rate_limited"


def _admitted_before_429(send: Callable[[int], Any], budget: int) -> int:
    """Send attempts 0, 1, ... until one is refused; check the refusal, and that no more got
    through than the budget plus what refilled meanwhile (a slow request spends refill time:
    an unknown e-mail still costs a full-strength bcrypt check)."""
    started = time.monotonic()
    for n in range(budget * 3 + 5):
        response = send(n)
        if response.status_code == 429:
            _assert_limited(response)
            refilled = (time.monotonic() - started) / (60 / budget)
            assert budget <= n <= budget + int(refilled) + 1, (n, budget, refilled)
            return n
    raise AssertionError(f"never limited after {budget * 3 + 5} attempts")


@pytest.mark.parametrize("key", sorted(SECRET_CHECKS), ids=lambda key: f"{key[0]} {key[1]}")
def test_a_target_is_limited_whatever_address_it_is_tried_from(
    key: tuple[str, str], limited: FastAPI, client: TestClient
) -> None:
    caller = Caller(client)
    budget = SECRET_CHECKS[key].per_target(limited.state.settings)
    row = sorted(SECRET_CHECKS).index(key)
    _admitted_before_429(lambda n: caller.send(_from(limited, f"10.1.{row}.{n}"), key, 0), budget)


@pytest.mark.parametrize("key", sorted(SECRET_CHECKS), ids=lambda key: f"{key[0]} {key[1]}")
def test_an_address_is_limited_whatever_targets_it_tries(
    key: tuple[str, str], limited: FastAPI, client: TestClient
) -> None:
    caller = Caller(client)
    budget = SECRET_CHECKS[key].per_client(limited.state.settings)
    address = f"10.3.{sorted(SECRET_CHECKS).index(key)}.1"
    _admitted_before_429(lambda n: caller.send(_from(limited, address), key, n), budget)
