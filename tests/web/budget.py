"""A page's cost on a first load in the browser (a new context, nothing cached): its requests,
its bytes and the time until it is usable (its heading rendered, which happens once the data it
shows has arrived), against a budget. Measured by tests/web/test_budget.py; the figures go to
the session summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# What a page may cost on a first load: its script modules, the stylesheet, the locale files
# and its API reads. Measured 2026-12-06 on 2 cores: at most 17 requests, 110 KB and 549 ms
# (the swaps page on a phone). Requests and bytes are the budget: they leave room for a new
# module, not for a page that starts fetching per row or pulls in a library. The time is
# measured and printed, and bounded only against a page that hangs: with the PostgreSQL pass
# beside this one (`make test`), pages of the same requests and bytes took up to 1,752 ms.
MAX_REQUESTS = 25
MAX_KB = 160
MAX_USABLE_MS = 5000
_measured: list[str] = []


def budget_summary() -> list[str]:
    return list(_measured)


def record(width: str, route: str, load: Load) -> None:
    _measured.append(
        f"{width:7} {route.split('?')[0]:18} {load.requests:3} requests "
        f"{load.kilobytes:7.1f} KB  usable in {load.usable_ms:6.0f} ms"
    )


@dataclass(frozen=True)
class Load:
    requests: int
    kilobytes: float
    usable_ms: float

    def within_budget(self) -> bool:
        return (
            self.requests <= MAX_REQUESTS
            and self.kilobytes <= MAX_KB
            and self.usable_ms <= MAX_USABLE_MS
        )


def first_load(
    browser: Any, base: str, route: str, name: str, session: dict[str, Any] | None, viewport: Any
) -> Load:
    context = browser.new_context(locale="en-GB", viewport=viewport)
    try:
        if session is not None:
            stored = json.dumps(json.dumps(session))
            context.add_init_script(f"localStorage.setItem('signupflow.session', {stored})")
        page = context.new_page()
        requests: list[Any] = []
        page.on("request", lambda request: requests.append(request))
        page.goto(f"{base}/#{route}")
        page.wait_for_selector(f"main[data-page='{name}'] h1", timeout=15_000)
        usable_ms: float = page.evaluate("performance.now()")
        page.wait_for_load_state("networkidle")
        sizes = page.evaluate(
            "() => [...performance.getEntriesByType('navigation'),"
            " ...performance.getEntriesByType('resource')].map((e) => e.encodedBodySize || 0)"
        )
        return Load(len(requests), sum(sizes) / 1024, usable_ms)
    finally:
        context.close()
