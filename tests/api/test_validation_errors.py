"""Every validation error names the field it concerns and carries a code with its params, so a
form marks the field and says why in its user's language (issue #16, point 5): the checks of
single fields (pydantic's own codes), of a whole input shape (`schemas.invalid`), and the
service's own (`InvalidInput(..., field=)`)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Org, add_person, new_org

API = "/api/v1"
SRC = Path(__file__).resolve().parents[2] / "src" / "signupflow"
EVENT = {
    "title": "Choir",
    "starts_at": "2031-05-04T10:00:00Z",
    "ends_at": "2031-05-04T12:00:00Z",
    "slots": [{"role": "usher", "capacity": 1}],
}


def refused(org: Org, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = org.post(path, json=body)
    assert response.status_code == 422, response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    for error in errors:
        assert error["code"], error
        assert isinstance(error["params"], dict), error
    return errors


def where_and_why(errors: list[dict[str, Any]]) -> list[tuple[list[Any], str]]:
    return [(error["loc"], error["code"]) for error in errors]


@pytest.fixture
def org(client: TestClient) -> Org:
    return new_org(client)


def test_a_whole_shape_check_names_its_field(org: Org) -> None:
    person = add_person(org)["id"]
    cases = [
        (
            f"{API}/people/{person}/time-off",
            {"starts_on": "2031-05-04", "ends_on": "2031-05-03"},
            (["body", "ends_on"], "time_off.ends_before_start"),
        ),
        (
            f"{API}/people/{person}/availability",
            {"weekday": 1, "start_time": "18:00", "end_time": "09:00"},
            (["body", "end_time"], "availability.ends_before_start"),
        ),
        (
            f"{API}/schedules/solve",
            {"starts_at": "2031-05-04T00:00:00Z", "ends_at": "2031-05-01T00:00:00Z"},
            (["body", "ends_at"], "schedule.range_order"),
        ),
        (
            f"{API}/events",
            {**EVENT, "slots": [{"role": "usher", "capacity": 1}] * 2},
            (["body", "slots"], "event.duplicate_role"),
        ),
    ]
    for path, body, expected in cases:
        assert where_and_why(refused(org, path, body)) == [expected], path


def test_a_service_check_names_its_field(org: Org) -> None:
    ends_first = {**EVENT, "ends_at": "2031-05-04T09:00:00Z"}
    assert where_and_why(refused(org, f"{API}/events", ends_first)) == [
        (["body", "ends_at"], "event.ends_before_start")
    ]


def test_field_checks_carry_pydantic_codes_and_their_limits(org: Org) -> None:
    errors = refused(org, f"{API}/teams", {"name": ""})
    assert where_and_why(errors) == [(["body", "name"], "string_too_short")]
    assert errors[0]["params"] == {"min_length": 1}
    assert where_and_why(refused(org, f"{API}/teams", {})) == [(["body", "name"], "missing")]


def test_no_shape_check_raises_an_uncoded_error() -> None:
    # A model validator's ValueError reaches the client with no field and no code: every
    # check of a whole input shape raises schemas.invalid(field, code, message) instead.
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            decorators = {
                getattr(d.func if isinstance(d, ast.Call) else d, "id", "")
                for d in node.decorator_list
            }
            if "model_validator" not in decorators or node.name == "_no_nul_characters":
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and "ValueError" in ast.unparse(inner):
                    found.append(f"{path.relative_to(SRC)}:{inner.lineno}")
    assert found == []
