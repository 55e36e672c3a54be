"""Fixtures of the API tests that build much data: built once per run, shared by the tests
that only read it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import new_org
from tests.support.sized_organisation import LARGE, SMALL, Organisation, build_organisation


@pytest.fixture(scope="session")
def sized_organisations(client: TestClient) -> dict[str, Organisation]:
    """The small and the large organisation of tests/support/sized_organisation.py, by size
    name. Read them only: the statement-count and query-plan tests compare what reading them
    costs."""
    return {
        size.name: build_organisation(client, new_org(client).tokens, size)
        for size in (SMALL, LARGE)
    }
