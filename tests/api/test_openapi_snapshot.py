"""The OpenAPI document is the API's contract: any change to it must be deliberate.
Regenerate the snapshot with `UPDATE_SNAPSHOTS=1 make test-sqlite` and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
