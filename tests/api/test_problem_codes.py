"""Problem codes: every DomainError raised in src/ names a stable `code` (with `params`) that
each locale can show translated; the API sends both next to the English `detail`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import new_org, ok
from tests.support.messages import load, parameters
from tests.support.problem_codes import scan, source_codes, source_sites

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ["en", "es", "fr", "pt", "zh-Hans", "zh-Hant"]
DOC = ROOT / "docs" / "problem-codes.md"


def test_every_domain_error_in_src_names_a_literal_code() -> None:
    sites = source_sites()
    assert len(sites) > 100  # the scan found the raises, not nothing
    assert [f"{s.where}: {s.problem}" for s in sites if s.problem] == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_code_has_a_message_in_every_locale(locale: str) -> None:
    known = load(locale)
    assert sorted(c for c in source_codes() if f"problem.{c}" not in known) == []


def test_messages_use_only_params_every_raise_gives() -> None:
    english = load("en")
    missing = [
        f"{site.where} {site.code}: {sorted(needed - site.params)}"
        for site in source_sites()
        if site.code and site.params is not None
        if (needed := parameters(english[f"problem.{site.code}"])) - site.params
    ]
    assert missing == []


def test_the_scan_refuses_raises_without_a_literal_code() -> None:
    sample = """
class DomainError(Exception): ...
class NotFound(DomainError): ...
class Gone(NotFound):
    def __init__(self): super().__init__("gone")
def f(code, x):
    raise NotFound("x", code="thing.missing", params={"id": x})
    raise NotFound("no code")
    raise NotFound("computed", code=code)
    raise NotFound("x", code="thing.missing", params=dict(id=x))
    raise NotFound
    raise Gone()
"""
    sites = scan({"sample.py": sample})
    assert sorted((s.where, s.problem) for s in sites) == sorted(
        [
            ("Gone.__init__", "no literal code="),
            ("sample.py:7", None),
            ("sample.py:8", "no literal code="),
            ("sample.py:9", "no literal code="),
            ("sample.py:10", "params= is not a literal dict"),
            ("sample.py:11", "raised without a call"),
        ]
    )


def test_the_docs_list_every_code() -> None:
    listed = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", DOC.read_text("utf-8"), re.MULTILINE))
    assert sorted(listed ^ source_codes()) == []


def test_a_conflict_carries_its_code_and_params(client) -> None:
    org = new_org(client)
    ok(org.post("/api/v1/teams", json={"name": "Welcome"}), 201)
    response = org.post("/api/v1/teams", json={"name": "Welcome"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "team.name_taken"
    assert body["params"] == {"name": "Welcome"}
    assert body["detail"] == "a team named 'Welcome' exists"  # English, for API clients
    assert body["type"] == "/problems/conflict"


def test_generic_not_found_and_extension_members_keep_working(client) -> None:
    org = new_org(client)
    missing = org.get("/api/v1/events/999999999")
    assert missing.status_code == 404
    assert missing.json()["code"] == "resource.not_found"
    assert missing.json()["params"] == {"resource": "event", "id": 999999999}
    invalid = org.post("/api/v1/teams", json={})  # a validation error: field errors, no code
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["body", "name"]
    assert "code" not in invalid.json()
