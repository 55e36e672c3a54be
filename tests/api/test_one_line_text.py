"""One-line text (names, titles, locations, roles, notes) refuses control characters on
every route: a line break in a name once made every e-mail that carried it fail for good.

The rule is read from the published OpenAPI document, so a new field or route is covered
without touching this file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from signupflow import one_line
from signupflow.app import create_app
from tests.factories import add_event, new_org, ok
from tests.support.settings import make_settings

API = "/api/v1"
# Compared, never shown or mailed; a password may hold any character the user can type.
SECRETS = {"password", "current_password", "new_password", "token", "refresh_token"}
# LongText: descriptions keep their line breaks.
MULTI_LINE_MAX_LENGTH = 10_000
# A file upload: each cell is checked by the import (tests/api/test_people_csv.py).
WHOLE_FILES = {"text/csv"}
BAD = ["A\r\nB", "A\nB", "A\tB", "A\x0bB", "A\x7fB", "A\x85B", "A\u2028B", "A\u2029B", "AB\n"]


# Built like the test app; building one opens no database.
DOCUMENT = create_app(make_settings("sqlite://")).openapi()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _strings(
    schema: dict[str, Any], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, schema) of every string in a body schema; "[]" in a path is an array item."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in schema.get(key, []):
            yield from _strings(alternative, path)
    if schema.get("type") == "string":
        yield path, schema
    if "items" in schema:
        yield from _strings(schema["items"], (*path, "[]"))
    for name, property_schema in schema.get("properties", {}).items():
        yield from _strings(property_schema, (*path, name))


def _body_strings() -> Iterator[tuple[str, str, tuple[str, ...], dict[str, Any]]]:
    for route, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                if media_type in WHOLE_FILES:
                    continue
                for path, schema in _strings(media["schema"], ()):
                    yield method.upper(), route, path, schema


def _refuses_control_characters(schema: dict[str, Any]) -> bool:
    if "enum" in schema or schema.get("format") in {"email", "date", "date-time", "time"}:
        return True
    pattern = schema.get("pattern")
    # fullmatch: in Python `$` also matches before a final line break, unlike in JSON Schema.
    return pattern is not None and not any(re.fullmatch(pattern, text) for text in BAD)


ONE_LINE_FIELDS = [
    (method, route, path)
    for method, route, path, schema in _body_strings()
    if schema.get("pattern") == one_line.PATTERN
]


def test_every_text_field_of_the_api_is_one_line_text_unless_it_is_long_text_or_a_secret():
    loose = [
        f"{method} {route} {'.'.join(path)}"
        for method, route, path, schema in _body_strings()
        if not _refuses_control_characters(schema)
        and schema.get("maxLength") != MULTI_LINE_MAX_LENGTH
        and path[-1] not in SECRETS
    ]
    assert loose == []
    assert len(ONE_LINE_FIELDS) >= 30  # the walk found the fields, not nothing


def _body(path: tuple[str, ...], value: str) -> tuple[Any, list[str | int]]:
    """A body with `value` at `path`, and where a validation error for it is reported."""
    if not path:
        return value, []
    head, *rest = path
    inner, location = _body(tuple(rest), value)
    if head == "[]":
        return [inner], [0, *location]
    return {head: inner}, [head, *location]


@pytest.fixture(scope="module")
def org(client):
    return new_org(client)


@pytest.mark.parametrize(
    ("method", "route", "path"),
    ONE_LINE_FIELDS,
    ids=[f"{m} {r} {'.'.join(p)}" for m, r, p in ONE_LINE_FIELDS],
)
def test_a_line_break_in_one_line_text_is_refused_on_every_route(org, method, route, path):
    url = re.sub(r"\{\w+\}", "1", route)
    body, location = _body(path, "Title\r\nBcc: everyone@example.org")
    response = org.client.request(method, url, json=body, headers=org.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    refused = [(e["loc"], e["type"]) for e in response.json()["errors"]]
    assert (["body", *location], "one_line") in refused


@pytest.mark.parametrize("text", BAD)
def test_each_kind_of_control_character_is_refused_and_nothing_changes(org, text):
    event = add_event(org, title="Before")
    response = org.patch(f"{API}/events/{event['id']}", json={"title": text, "location": "Hall"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "one_line"
    after = ok(org.get(f"{API}/events/{event['id']}"))
    assert (after["title"], after["location"]) == ("Before", "")


def test_one_line_text_keeps_spaces_accents_emoji_and_joiners(org):
    title = "  Café \u00e9t\u00e9 \U0001f469\u200d\U0001f373 \u05e9\u05dc\u05d5\u05dd \u200f  "
    event = add_event(org, title=title, location="Salle 2 \u2013 rez-de-chauss\u00e9e")
    assert event["title"] == title.strip()
    described = ok(org.patch(f"{API}/events/{event['id']}", json={"description": "One\nTwo"}))
    assert described["description"] == "One\nTwo"
