from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.repository import REPO
from tests.ops.monitoring_files import MONITORING, check, require_tool


@pytest.fixture
def promtool() -> str:
    return require_tool("promtool", "prometheus")


@pytest.fixture
def copy(tmp_path: Path) -> check.Layout:
    """A copy of deploy/monitoring and the runbook to break."""
    shutil.copytree(MONITORING, tmp_path / "monitoring")
    shutil.copy(REPO / "docs" / "runbook.md", tmp_path / "runbook.md")
    return check.Layout.of(tmp_path / "monitoring", tmp_path / "runbook.md")
