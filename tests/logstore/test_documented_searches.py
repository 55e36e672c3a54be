"""The log searches the operator docs give are ones `signupflow-logs` accepts as written. The
docs' command checker (tests/support/doc_commands.py) checks the `docker compose exec` around
them and stops at the container's own command; this checks that command with the store's own
parser and query rules. The runbook gives one by request id, by level and by time window."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from types import ModuleType

import pytest

from harness.logstore import load_script
from harness.repository import REPO
from tests.support.doc_commands import doc_files, extract

PROGRAM = "signupflow-logs"
RUNBOOK = REPO / "docs" / "runbook.md"

# What a careless edit produces: each search is one the command refuses before reading a line.
BROKEN_GUIDE = """\
```sh
STORE="docker compose -f deploy/compose/compose.prod.yml exec logstore"
$STORE signupflow-logs search --requestid 4bf9
$STORE signupflow-logs search --since yesterday
$STORE signupflow-logs search --since 2h --until 3h
$STORE signupflow-logs search --level loud
$STORE signupflow-logs search --text
$STORE signupflow-logs serach --level error
```
"""
EXPECTED_REFUSALS = [
    "unrecognized arguments: --requestid",
    "cannot read the time 'yesterday'",
    "is not after --since",
    "unknown level 'loud'",
    "say what to look for",
    "invalid choice: 'serach'",
]


@pytest.fixture(scope="module")
def logs() -> ModuleType:
    return load_script()


def documented_searches(doc: Path) -> list[tuple[str, list[str]]]:
    """(file:line, the arguments after `signupflow-logs`) of each command the doc gives."""
    return [
        (command.where(), list(command.words[command.words.index(PROGRAM) + 1 :]))
        for command in extract(doc)
        if PROGRAM in command.words
    ]


def refusal(logs: ModuleType, args: list[str]) -> str | None:
    """Why `signupflow-logs ARGS` stops before reading the store (its message), or None."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parsed = logs.build_parser().parse_args(args)
    except SystemExit:
        return stderr.getvalue().strip().splitlines()[-1]
    if parsed.command != "search":
        return None
    try:
        logs.query_from(parsed)
    except logs.UsageError as exc:
        return str(exc)
    return None


def test_every_documented_log_search_is_accepted_as_written(logs: ModuleType) -> None:
    searches = [found for doc in doc_files() for found in documented_searches(doc)]
    assert {where.split(":")[0] for where, _ in searches} >= {"docs/logs.md", "docs/runbook.md"}
    refused = [
        f"{where}: {PROGRAM} {' '.join(args)}: {problem}"
        for where, args in searches
        if (problem := refusal(logs, args))
    ]
    assert not refused, "\n".join(refused)


def test_the_runbook_searches_by_request_id_by_level_and_by_time_window() -> None:
    options = [
        {word for word in args if word.startswith("--")}
        for _, args in documented_searches(RUNBOOK)
        if args[:1] == ["search"]
    ]
    assert any("--request-id" in used for used in options)
    assert any("--level" in used for used in options)
    assert any({"--since", "--until"} <= used for used in options)


def test_a_guide_with_broken_searches_is_reported_search_by_search(
    logs: ModuleType, tmp_path: Path
) -> None:
    guide = tmp_path / "broken.md"
    guide.write_text(BROKEN_GUIDE)
    problems = [refusal(logs, args) or "" for _, args in documented_searches(guide)]
    assert len(problems) == len(EXPECTED_REFUSALS)
    for problem, expected in zip(problems, EXPECTED_REFUSALS, strict=True):
        assert expected in problem
