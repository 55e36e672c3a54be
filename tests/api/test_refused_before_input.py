"""A caller without the right is refused before their input is judged, on every route with a
role requirement: no token answers 401, a volunteer on a scheduler's or admin's route 403, never
422, even though the requirement is worked out in the route's own thread, after FastAPI has
checked the input (deps.require, deps.get_session).

The routes come from `app.routes`, so a new one is covered without being listed. Each is sent
input it refuses: a path id that is no number, else a JSON body of the wrong shape, else a page
limit of 0; a route that takes none of these has no input to judge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from signupflow.app import add_routes_flat
from signupflow.deps import Member, require, required_role
from signupflow.people.models import MemberRole
from tests.factories import Org, invite_member, new_org

_PATH_PARAMETER = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class BadRequest:
    method: str
    path: str
    role: MemberRole
    json: Any = None
    params: dict[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def bad_requests(app: FastAPI) -> list[BadRequest]:
    requests = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        role = required_role(route.dependant)
        if role is None:
            continue
        has_body = route.dependant.body_params != [] or any(
            d.body_params for d in route.dependant.dependencies
        )
        for method in sorted(route.methods):
            if "{" in route.path:  # every path id is a number: "x" is refused
                path = _PATH_PARAMETER.sub("x", route.path)
                requests.append(BadRequest(method, path, role, json={} if has_body else None))
            elif route.dependant.body_params:
                requests.append(BadRequest(method, route.path, role, json=[]))
            elif {"limit", "offset"} <= _query_names(route):
                requests.append(BadRequest(method, route.path, role, params={"limit": "0"}))
    return requests


def _query_names(route: APIRoute) -> set[str]:
    names = {p.alias for p in route.dependant.query_params}
    for dependency in route.dependant.dependencies:
        names |= {p.alias for p in dependency.query_params}
    return names


def send(client: TestClient, request: BadRequest, headers: dict[str, str]) -> Any:
    return client.request(
        request.method, request.path, json=request.json, params=request.params, headers=headers
    )


@pytest.fixture(scope="module")
def volunteer(client: TestClient) -> Org:
    return invite_member(new_org(client))


def test_every_role_requirement_refuses_before_the_input_is_judged(
    app: FastAPI, client: TestClient, volunteer: Org
) -> None:
    requests = bad_requests(app)
    # The walk found the API's routes of each kind of input.
    assert len(requests) > 50
    assert any(r.json == [] for r in requests)
    assert any(r.params for r in requests)
    wrong: dict[str, str] = {}
    for request in requests:
        # The input is bad: a caller with every right is told so.
        answered = send(client, request, {})
        if answered.status_code != 401 or answered.json()["code"] != "auth.token_missing":
            wrong[f"{request.label} without a token"] = answered.text[:200]
        if request.role is not MemberRole.VOLUNTEER:
            answered = send(client, request, volunteer.headers)
            if answered.status_code != 403 or answered.json()["code"] != "auth.role_required":
                wrong[f"{request.label} as a volunteer"] = answered.text[:200]
    assert not wrong, "\n".join(f"{label}: {text}" for label, text in sorted(wrong.items()))


def test_the_bad_input_is_refused_once_the_caller_has_the_right(
    app: FastAPI, client: TestClient
) -> None:
    """The requests above are bad input indeed: an admin is answered 422 (or 404 for an id
    that names nothing), so the refusals above came before the input was judged."""
    admin = new_org(client)
    statuses = {
        request.label: send(client, request, admin.headers).status_code
        for request in bad_requests(app)
    }
    assert {label for label, status in statuses.items() if status not in (404, 405, 422)} == set()
    assert sum(status == 422 for status in statuses.values()) > 50


def test_an_async_route_cannot_take_a_role_requirement() -> None:
    """Its requirement would be worked out in a thread it never runs in."""
    router = APIRouter()

    @router.get("/refused")
    async def refused(actor: Member) -> None:
        raise AssertionError("never added")

    with pytest.raises(TypeError, match="needs a plain def route"):
        add_routes_flat(FastAPI(), router, responses={})


def takes_the_actor(actor: Member) -> int:  # module level: annotations are read by name
    return 1


def test_a_role_requirement_the_route_does_not_take_itself_is_refused() -> None:
    """Worked out only when the route's own argument is: in another dependency, or listed in
    `dependencies=`, it would let every caller through."""
    listed = APIRouter()

    @listed.get("/listed", dependencies=[Depends(require(MemberRole.ADMIN))])
    def listed_route() -> None:
        raise AssertionError("never added")

    nested = APIRouter()

    @nested.get("/nested")
    def nested_route(value: Annotated[int, Depends(takes_the_actor)]) -> None:
        raise AssertionError("never added")

    for router in (listed, nested):
        with pytest.raises(TypeError, match="take the role requirement as a parameter"):
            add_routes_flat(FastAPI(), router, responses={})
