"""Input checks run on what clients send, never on what the server answers: every request
body is an input shape (`ApiModel`: unknown fields refused, NUL refused), every response shape
is not (walking every field of a 50-event list for NUL cost it a third of its time). Read from
the app's routes, so a new route is covered without touching this file."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel

from signupflow.api import ROUTERS
from signupflow.schemas import ApiModel, ResponseModel

ROUTES = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def models_in(
    annotation: Any, seen: set[type[BaseModel]] | None = None
) -> Iterator[type[BaseModel]]:
    """Every pydantic model a type annotation holds, its fields' models included."""
    seen = set() if seen is None else seen
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        yield annotation
        for field in annotation.model_fields.values():
            yield from models_in(field.annotation, seen)
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            yield from models_in(argument, seen)


def test_routes_are_found() -> None:
    assert len(ROUTES) > 50
    assert any(route.response_model is not None for route in ROUTES)


def test_no_response_shape_runs_the_input_checks() -> None:
    offending = {
        f"{sorted(route.methods)} {route.path}: {model.__name__}"
        for route in ROUTES
        for model in models_in(route.response_model)
        if issubclass(model, ApiModel)
    }
    assert not offending, "response shapes must not be ApiModel (use ResponseModel or ReadModel)"


def test_every_request_body_is_an_input_shape() -> None:
    bodies = [
        (route, model)
        for route in ROUTES
        if route.body_field is not None
        for model in models_in(route.body_field.field_info.annotation)
    ]
    assert bodies
    offending = {
        f"{sorted(route.methods)} {route.path}: {model.__name__}"
        for route, model in bodies
        if not issubclass(model, ApiModel)
    }
    assert not offending, "request bodies must be ApiModel input shapes"


def test_the_walk_finds_an_input_shape_inside_a_response() -> None:
    class Inner(ApiModel):
        text: str

    class Outer(ResponseModel):
        items: list[Inner] | None

    assert Inner in set(models_in(Outer))
    assert Inner in set(models_in(dict[str, Outer]))
