"""Every route that checks a secret (a password or a token), or mails an address on an
anonymous caller's word, with its budgets: one per target (an account, a token) and one per
client address, kept in the shared store so they hold across instances (429 with
Retry-After).

One list, one way in: each of these routes takes `SecretBudget`, which charges the client's
address before the route runs and the target when the route names it. A test walks the
OpenAPI document and fails when a route that takes a password or a token is missing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from signupflow.deps import API_PREFIX, AppSettings, Store, client_address
from signupflow.settings import Settings
from signupflow.state.ratelimit import enforce, subject
from signupflow.state.store import SharedStore

# A subscribed calendar is polled every few minutes at most; a feed URL fetched more often
# than this is being abused (or guessed at from many addresses).
CALENDAR_FETCHES_PER_MINUTE = 30


@dataclass(frozen=True)
class SecretCheck:
    name: str
    target: str  # what one budget belongs to, for the reader of this table
    per_target: Callable[[Settings], int]
    per_client: Callable[[Settings], int]


def _logins(settings: Settings) -> int:
    return settings.login_attempts_per_minute


def _logins_per_client(settings: Settings) -> int:
    # Several people behind one address (an office, a school) log in at the same time.
    return settings.login_attempts_per_minute * 10


def _resets(settings: Settings) -> int:
    return settings.password_reset_requests_per_minute


def _resets_per_client(settings: Settings) -> int:
    return settings.password_reset_requests_per_minute * 10


def _signups(settings: Settings) -> int:
    return settings.signup_requests_per_minute


def _calendar_fetches(settings: Settings) -> int:
    return CALENDAR_FETCHES_PER_MINUTE


def _api_requests(settings: Settings) -> int:
    # Calendar services fetch every subscriber's feed from a few shared addresses.
    return settings.api_requests_per_minute


_AUTH = f"{API_PREFIX}/auth"
SECRET_CHECKS: dict[tuple[str, str], SecretCheck] = {
    ("POST", f"{_AUTH}/login"): SecretCheck("login", "e-mail", _logins, _logins_per_client),
    ("POST", f"{_AUTH}/password"): SecretCheck(
        "password-change", "user", _logins, _logins_per_client
    ),
    ("POST", f"{_AUTH}/refresh"): SecretCheck(
        "refresh", "refresh token", _logins, _logins_per_client
    ),
    ("POST", f"{_AUTH}/signup"): SecretCheck("signup", "e-mail", _signups, _signups),
    ("POST", f"{_AUTH}/signup/confirm"): SecretCheck(
        "signup-confirm", "confirmation token", _logins, _logins_per_client
    ),
    ("POST", f"{_AUTH}/password-reset"): SecretCheck(
        "reset", "e-mail", _resets, _resets_per_client
    ),
    ("POST", f"{_AUTH}/password-reset/confirm"): SecretCheck(
        "reset-confirm", "reset token", _resets, _resets_per_client
    ),
    ("POST", f"{API_PREFIX}/invitations/accept"): SecretCheck(
        "invitation-accept", "invitation token", _logins, _logins_per_client
    ),
    ("POST", f"{API_PREFIX}/invitations/preview"): SecretCheck(
        "invitation-preview", "invitation token", _logins, _logins_per_client
    ),
    ("GET", f"{API_PREFIX}/calendar/{{token}}.ics"): SecretCheck(
        "calendar-feed", "feed token", _calendar_fetches, _api_requests
    ),
}


class SecretBudget:
    """The budgets of the route being served; the client's address is already charged."""

    def __init__(self, store: SharedStore, settings: Settings, check: SecretCheck) -> None:
        self._store = store
        self._settings = settings
        self.check = check

    def spend(self, target: str) -> None:
        """Charge one attempt against `target` (hashed: no personal data in the store)."""
        enforce(
            self._store,
            f"{self.check.name}:target:{subject(target)}",
            per_minute=self.check.per_target(self._settings),
        )


def secret_budget(request: Request, settings: AppSettings, store: Store) -> SecretBudget:
    route = request.scope["route"]
    assert isinstance(route, APIRoute)
    # A KeyError here is a route that takes this dependency without a line in the table.
    check = SECRET_CHECKS[(request.method, route.path)]
    enforce(
        store,
        f"{check.name}:ip:{subject(client_address(request))}",
        per_minute=check.per_client(settings),
    )
    return SecretBudget(store, settings, check)


SecretChecked = Annotated[SecretBudget, Depends(secret_budget)]
