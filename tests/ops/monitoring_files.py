"""deploy/monitoring/check.py (`make monitoring-check`) loaded once for the tests of the
monitoring files, and the tools those tests need installed."""

from __future__ import annotations

import shutil

from harness.repository import REPO, script_module
from tests.support.services import require_service

MONITORING = REPO / "deploy" / "monitoring"
CHECK = MONITORING / "check.py"

check = script_module(CHECK, "monitoring_check")
LAYOUT = check.Layout.of()


def require_tool(name: str, package: str | None = None) -> str:
    """The path of the program `name` (from the Debian `package`, by default of that name); the
    test is skipped (failed in CI) without it."""
    found = shutil.which(name)
    if found is None:
        require_service(f"{name} is not installed (apt-get install -y {package or name})")
    assert found is not None
    return found
