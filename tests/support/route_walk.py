"""The GET routes an app serves, with what a request to each needs: the names of its path
parameters and of its query parameters. Walked from `app.routes` (the routers the app
includes, and the routes it adds itself), so a new route is seen without being listed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

PAGING = frozenset({"limit", "offset"})
_PATH_PARAMETER = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class GetRoute:
    path: str
    path_parameters: tuple[str, ...]
    query_parameters: tuple[str, ...]  # every one the route reads, paging included
    response_model: Any = None  # what the route's OpenAPI document promises, if anything

    @property
    def pages(self) -> bool:
        return set(self.query_parameters) >= PAGING

    @property
    def filters(self) -> tuple[str, ...]:
        return tuple(name for name in self.query_parameters if name not in PAGING)

    def url(self, values: dict[str, str]) -> str:
        return _PATH_PARAMETER.sub(lambda m: values[m.group(1)], self.path)


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def get_routes(app: FastAPI) -> list[GetRoute]:
    routes = []
    for context in iter_route_contexts(app.routes):
        if "GET" not in (context.methods or ()) or context.path is None:
            continue
        route = context.original_route
        api = isinstance(route, APIRoute)
        query = sorted(_query_names(route.dependant)) if api else []
        routes.append(
            GetRoute(
                context.path,
                tuple(_PATH_PARAMETER.findall(context.path)),
                tuple(query),
                route.response_model if api else None,
            )
        )
    return routes
