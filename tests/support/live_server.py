"""An ASGI app served by a real Uvicorn server in a thread, for tests that need real sockets
or real concurrency with their own app or settings (`live_url` serves the session's app)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from harness.ports import free_port

START_TIMEOUT_S = 30


@contextmanager
def served(app: Any, *, lifespan: str = "on") -> Iterator[str]:
    """The app's base URL while the server runs; stopped (and joined) afterwards."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive(), "server did not start"
        assert time.monotonic() < deadline, "server did not start in time"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
