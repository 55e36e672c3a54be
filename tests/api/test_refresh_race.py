"""Two tabs refreshing with the same token at the same moment both stay logged in: the one
that loses the race gets the same successor (real concurrent requests on PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.factories import bearer, new_org, ok
from tests.support.concurrency import all_at_once
from tests.support.settings import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="concurrent writers are PostgreSQL's; SQLite has one writer"
)


def test_two_tabs_refreshing_at_once_both_stay_logged_in(client, live_url):
    for _ in range(3):  # the race is real: run it a few times
        org = new_org(client)
        body = {"refresh_token": org.tokens["refresh_token"]}
        results = all_at_once(live_url, [("POST", "/api/v1/auth/refresh", {}, body)] * 2)
        assert [status for status, _ in results] == [200, 200], results
        (_, one), (_, two) = results
        assert one["refresh_token"] == two["refresh_token"]
        ok(client.get("/api/v1/me", headers=bearer(one["access_token"])))
        ok(client.get("/api/v1/me", headers=bearer(two["access_token"])))
        ok(client.post("/api/v1/auth/refresh", json={"refresh_token": one["refresh_token"]}))
