"""The OpenAPI document is the API's contract: any change to it must be deliberate.
Regenerate the snapshot with `UPDATE_SNAPSHOTS=1 make test-sqlite` and review the diff."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_openapi_document_matches_the_reviewed_snapshot(app):
    current = json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1"
    assert current == SNAPSHOT.read_text(), "API changed: review, then UPDATE_SNAPSHOTS=1"


def test_every_api_operation_is_versioned_and_documents_problem_json_errors(app):
    for path, operations in app.openapi()["paths"].items():
        assert path.startswith(("/api/v1/", "/health")), path
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            for status in ("4XX", "5XX"):
                content = operation["responses"][status]["content"]
                assert "application/problem+json" in content, f"{method.upper()} {path}"


# What an API route is, besides its path and endpoint, as FastAPI serves and documents it.
ROUTE_FACTS = (
    "methods",
    "status_code",
    "tags",
    "summary",
    "description",
    "response_model",
    "response_class",
    "responses",
    "dependencies",
    "include_in_schema",
    "operation_id",
    "name",
    "strict_content_type",
    "max_body_size",
)


def test_routes_added_flat_are_what_include_router_makes() -> None:
    """`app.add_routes_flat` stands in for `include_router` (one route list, matched once): the
    same document, and every route with the same facts, including those no route sets yet."""
    from fastapi import FastAPI
    from fastapi.routing import APIRoute

    from signupflow.api import ROUTERS
    from signupflow.app import add_routes_flat
    from signupflow.errors import PROBLEM_RESPONSES

    included, flat = FastAPI(), FastAPI()
    for router in ROUTERS:
        included.include_router(router, responses=PROBLEM_RESPONSES)
        add_routes_flat(flat, router, responses=PROBLEM_RESPONSES)

    def facts(route: object) -> tuple[object, ...]:
        return tuple(repr(getattr(route, fact)) for fact in ("path", *ROUTE_FACTS))

    ours = [facts(r) for r in flat.routes if isinstance(r, APIRoute)]
    # include_router's routes as FastAPI serves them: each inclusion's effective contexts.
    theirs = [
        facts(context)
        for inclusion in included.router.routes
        if hasattr(inclusion, "effective_route_contexts")
        for context in inclusion.effective_route_contexts()
    ]
    assert len(ours) == sum(len(router.routes) for router in ROUTERS)
    assert ours == theirs
    assert flat.openapi() == included.openapi()


def test_the_operations_documented_with_the_bearer_scheme_are_those_that_need_a_token(
    app, client
) -> None:
    """The document's bearer scheme says which operations need a token: one documented with it
    answers a request without a token with 401 auth.token_missing (before its input is
    judged), unless its caller is optional; one documented without it never does."""
    from fastapi.routing import APIRoute

    from signupflow.deps import optional_actor

    def optional(dependant: Any) -> bool:
        return dependant.call is optional_actor or any(map(optional, dependant.dependencies))

    optional_caller = {
        (route.path_format, method.lower())
        for route in app.routes
        if isinstance(route, APIRoute) and optional(route.dependant)
        for method in route.methods
    }
    assert optional_caller, "no route with an optional caller: this test's exception is stale"
    wrong = []
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        url = re.sub(r"\{\w+\}", "1", path)
        for method, operation in operations.items():
            answered = client.request(method, url, json={} if "requestBody" in operation else None)
            refused = answered.status_code == 401 and answered.json().get("code") == (
                "auth.token_missing"
            )
            documented = operation.get("security") == [{"HTTPBearer": []}]
            if documented != refused and (path, method) not in optional_caller:
                wrong.append(f"{method.upper()} {path}: documented {documented}, refused {refused}")
    assert wrong == []
