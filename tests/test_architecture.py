"""The architecture rules of docs/conventions.md, checked on the source (`make
architecture-check`), and each checker shown to fail on a small tree that breaks its rule."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from tests.architecture import (
    Finding,
    conftest_imports,
    describe_cycle,
    import_cycles,
    report,
    seat_count_writes,
    services_imported_by_the_ledger,
    shipped_code_importing_tests,
    strongly_connected,
    web_imports_from_services,
)

# --- The real tree ---------------------------------------------------------------------------


# Each rule: its checker, and what to do when it finds something.
RULES = {
    "seat counts are written only by the ledger": (
        seat_count_writes,
        "EventSlot.filled is written only in src/signupflow/assignments/ledger.py "
        "(conditional UPDATEs, the transaction's first write)",
    ),
    "the ledger builds on no domain service": (
        services_imported_by_the_ledger,
        "assignments/ledger.py imports a domain service; it may record through the audit log "
        "and the outbox only",
    ),
    "services do not import the web layer": (
        web_imports_from_services,
        "a service-layer module imports the web layer (deps, api, app, frontend, a routes "
        "module, fastapi or starlette); who is acting is signupflow.actor",
    ),
    "shipped code does not import the tests": (
        shipped_code_importing_tests,
        "src/, bench/, harness/ and deploy/ import the test suite; move what they share to "
        "harness/",
    ),
    "no module imports a conftest": (
        conftest_imports,
        "a module imports a conftest; pytest loads conftests itself, so move the names to a "
        "module of their own",
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_the_tree_keeps_the_rule(repo_root: Path, rule: str) -> None:
    checker, advice = RULES[rule]
    findings = checker(repo_root)
    assert not findings, f"{advice}:\n" + report(findings)


def test_signupflow_has_no_import_cycles(repo_root: Path) -> None:
    """Module level only. The packages do depend on each other in circles by design:
    db/models.py imports every domain's tables for Alembic and the tests, and every domain's
    routes take `deps`, which reads domain models; a rule between packages would forbid that
    layout rather than a cycle that breaks an import."""
    cycles = import_cycles(repo_root)
    assert not cycles, "import cycles among signupflow's modules:\n" + "\n".join(
        describe_cycle(cycle) for cycle in cycles
    )


# --- Each checker fails on a tree that breaks its rule ------------------------------------------

PACKAGE_INITS = {"src/signupflow/__init__.py": ""}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in {**PACKAGE_INITS, **files}.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def lines(findings: list[Finding], path: str) -> list[int]:
    return [finding.line for finding in findings if finding.path == path]


def test_seat_check_reports_every_way_of_writing_filled(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/events/__init__.py": "",
            "src/signupflow/events/service.py": """
                from sqlalchemy import insert, update
                from signupflow.events.models import EventSlot

                def change(session, slot, other):
                    slot.filled = 0
                    slot.filled += 1
                    slot.filled, other.capacity = 1, 2
                    setattr(slot, "filled", 3)
                    EventSlot(role="x", capacity=2, filled=0)
                    update(EventSlot).values(filled=EventSlot.filled + 1)
                    update(EventSlot).values({EventSlot.filled: 1})
                    update(EventSlot).values({"filled": 1})
                    insert(EventSlot).values([{"role": "x", "filled": 0}])
                    session.execute(update(EventSlot), {EventSlot.filled: 2})
            """,
            # A slot reached through its event, EventSlot never named.
            "src/signupflow/events/publish.py": """
                def publish(event):
                    for slot in event.slots:
                        slot.filled = slot.capacity
            """,
        },
    )
    findings = seat_count_writes(root)
    assert lines(findings, "src/signupflow/events/service.py") == list(range(5, 15)), report(
        findings
    )
    assert lines(findings, "src/signupflow/events/publish.py") == [3]


def test_seat_check_allows_the_ledger_migrations_and_other_meanings_of_filled(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/assignments/__init__.py": "",
            "src/signupflow/assignments/ledger.py": """
                from sqlalchemy import update
                from signupflow.events.models import EventSlot

                def take_seat(session, slot_id):
                    update(EventSlot).values(filled=EventSlot.filled + 1)
            """,
            "src/signupflow/db/__init__.py": "",
            "src/signupflow/db/migrations/versions/0001_initial.py": """
                import sqlalchemy as sa
                slots = sa.table("event_slots", sa.column("filled"))
                def upgrade():
                    op.execute(slots.update().values(filled=0))
            """,
            "src/signupflow/events/__init__.py": "",
            "src/signupflow/events/service.py": """
                from signupflow.events.models import EventSlot

                def shrink(slot: EventSlot):
                    if slot.filled > slot.capacity:
                        raise Conflict("full", params={"filled": slot.filled})
            """,
            "src/signupflow/scheduling/__init__.py": "",
            "src/signupflow/scheduling/solve.py": """
                def summary(result):
                    Result(filled=result.filled, seats=3)
                    return {"filled": result.filled}
            """,
        },
    )
    assert seat_count_writes(root) == []


def test_web_check_reports_web_imports_from_a_service(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/teams/__init__.py": "",
            "src/signupflow/teams/service.py": """
                from typing import TYPE_CHECKING
                from signupflow.deps import Principal
                from signupflow import app
                import starlette.types
                from ..api import ROUTERS

                if TYPE_CHECKING:
                    from signupflow.events.routes import EventRead

                def remove(team):
                    from fastapi import HTTPException
            """,
        },
    )
    findings = web_imports_from_services(root)
    assert [(f.line, f.detail) for f in findings] == [
        (2, "imports signupflow.deps"),
        (3, "imports signupflow.app"),
        (4, "imports starlette.types"),
        (5, "imports signupflow.api"),
        (8, "imports signupflow.events.routes"),
        (11, "imports fastapi"),
    ]


def test_web_check_allows_the_web_layer_and_its_exemptions(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/deps.py": "from fastapi import Depends\n",
            "src/signupflow/errors.py": "from fastapi import FastAPI\n",
            "src/signupflow/ops/__init__.py": "",
            "src/signupflow/ops/middleware.py": "from starlette.types import ASGIApp\n",
            "src/signupflow/auth/__init__.py": "",
            "src/signupflow/auth/secret_checks.py": "from signupflow.deps import Store\n",
            "src/signupflow/teams/__init__.py": "",
            "src/signupflow/teams/routes.py": """
                from fastapi import APIRouter
                from signupflow.deps import DbSession
                from signupflow.teams import service
            """,
            "src/signupflow/teams/service.py": """
                from sqlalchemy.orm import Session
                from signupflow.errors import NotFound
                from signupflow.ops import metrics
            """,
        },
    )
    assert web_imports_from_services(root) == []


def test_cycle_check_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/a/__init__.py": "",
            "src/signupflow/a/service.py": "from signupflow.b.service import fill\n",
            "src/signupflow/b/__init__.py": "",
            "src/signupflow/b/service.py": """
                from signupflow.c import helper

                def change():
                    from signupflow.a.service import anything
            """,
            "src/signupflow/c.py": "",
        },
    )
    cycles = import_cycles(root)
    assert len(cycles) == 1, "\n".join(describe_cycle(cycle) for cycle in cycles)
    assert [(e.source, e.target, e.line) for e in cycles[0]] == [
        ("signupflow.a.service", "signupflow.b.service", 1),
        ("signupflow.b.service", "signupflow.a.service", 4),
    ]


def test_cycle_check_counts_a_package_init_reached_through_its_module(tmp_path: Path) -> None:
    """Importing signupflow.a.x runs signupflow/a/__init__.py first: here that imports b.y,
    which imports a.x, a cycle although no two statements name each other."""
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/a/__init__.py": "from signupflow.b.y import Y\n",
            "src/signupflow/a/x.py": "",
            "src/signupflow/b/__init__.py": "",
            "src/signupflow/b/y.py": "from signupflow.a.x import f\n",
        },
    )
    cycles = import_cycles(root)
    assert [sorted({e.source for e in cycle}) for cycle in cycles] == [
        ["signupflow.a", "signupflow.b.y"]
    ]


def test_cycle_check_ignores_type_checking_and_a_package_importing_its_modules(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/solver/__init__.py": "from signupflow.solver.engine import solve\n",
            "src/signupflow/solver/engine.py": "from .problem import Problem\n",
            "src/signupflow/solver/problem.py": "",
            "src/signupflow/a/__init__.py": "",
            "src/signupflow/a/x.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from signupflow.b.y import Y
            """,
            "src/signupflow/b/__init__.py": "",
            "src/signupflow/b/y.py": "from signupflow.a.x import X\n",
        },
    )
    assert import_cycles(root) == []


def test_strongly_connected_components_of_a_deep_graph_need_no_recursion() -> None:
    depth = 5_000
    graph = {f"m{i}": {f"m{i + 1}"} for i in range(depth)}
    graph[f"m{depth}"] = {"m0"}
    graph["outside"] = {"m0"}
    components = strongly_connected(graph)
    assert sorted(len(c) for c in components) == [1, depth + 1]


def test_tests_check_reports_shipped_code_importing_the_tests(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "src/signupflow/demo.py": "from tests.factories import make_event\n",
            "bench/__init__.py": "",
            "bench/server.py": "from bench.wrk import run\nimport tests.support.postgres\n",
            "harness/__init__.py": "",
            "harness/db.py": "def f():\n    from tests import support\n",
            "deploy/deploy.py": "",
            "tests/__init__.py": "",
            "tests/test_x.py": "from tests.support.postgres import start_cluster\n",
        },
    )
    assert [str(f) for f in shipped_code_importing_tests(root)] == [
        "bench/server.py:2: imports tests.support.postgres",
        "harness/db.py:2: imports tests",
        "src/signupflow/demo.py:1: imports tests.factories",
    ]


def test_conftest_check_reports_every_spelling(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "bench/deploy_bench.py": "from tests.deploy.conftest import REPO\n",
            "tests/__init__.py": "",
            "tests/conftest.py": "",
            "tests/support.py": "from tests.conftest_data import ROWS\n",
            "tests/web/__init__.py": "",
            "tests/web/conftest.py": "import tests.conftest\n",
            "tests/web/test_forms.py": """
                from tests.web import conftest
                from .conftest import DESKTOP
                from tests.support import helper
            """,
        },
    )
    assert [str(f) for f in conftest_imports(root)] == [
        "bench/deploy_bench.py:1: imports tests.deploy.conftest",
        "tests/web/conftest.py:1: imports tests.conftest",
        "tests/web/test_forms.py:1: imports tests.web.conftest",
        "tests/web/test_forms.py:2: imports tests.web.conftest",
    ]


def test_ledger_check_reports_a_domain_service_but_not_the_audit_log_or_the_outbox(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path,
        {
            **PACKAGE_INITS,
            "src/signupflow/assignments/__init__.py": "",
            "src/signupflow/assignments/ledger.py": """
                from signupflow.audit.service import record
                from signupflow.notifications import service as notifications
                from signupflow.assignments.models import Assignment

                def promote(session):
                    from signupflow.events.service import get_event
            """,
        },
    )
    findings = services_imported_by_the_ledger(root)
    assert [(f.line, f.detail) for f in findings] == [(6, "imports signupflow.events.service")], (
        report(findings)
    )
