"""A release that passes every check of a deploy, then fails: the real app (with slow_app's
GET /test/slow) answering 500 to every request but /health/ready from FAIL_AFTER_S seconds
after it started up. The edge's readiness check keeps it in rotation, as it would a release
whose bug shows only under real traffic; only the deploy tool's watch after the cut-over can
catch it. Baked into a test image by harness/stack.py (release v4); never part of the app."""

from __future__ import annotations

import importlib
import json
import os
import time
from typing import Any

from signupflow.ops.shutdown import DRAIN

FAIL_AFTER_S = float(os.environ.get("TEST_FAIL_AFTER_S", "20"))

Scope = dict[str, Any]


class FailsLater:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.started = 0.0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            self.started = time.monotonic()
        failing = self.started and time.monotonic() - self.started > FAIL_AFTER_S
        if scope["type"] != "http" or not failing or scope["path"] == "/health/ready":
            await self.app(scope, receive, send)
            return
        # Read the request's body first, as a real handler does.
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False) and message["type"] == "http.request"
        body = json.dumps({"status": "failing", "release": os.environ.get("RELEASE", "")})
        headers = [(b"content-type", b"application/json")]
        if DRAIN.draining:  # as the app's own responses: the edge does not reuse the connection
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})


def create() -> FailsLater:
    # In the test image slow_app.py sits beside this file, on PYTHONPATH (harness/stack.py).
    return FailsLater(importlib.import_module("slow_app").create())
