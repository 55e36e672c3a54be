"""The floor under a read (bench/floor_bench.py): apps that answer GET with a fixed JSON body
(the file FLOOR_BODY_FILE names), served by `signupflow serve --app` with the real server's
settings. `/health/ready` answers 200, so `AppServer.wait_ready` works as for the real app."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from signupflow.settings import Settings


def _body() -> bytes:
    return Path(os.environ["FLOOR_BODY_FILE"]).read_bytes()


def raw() -> ASGIApp:
    """A raw ASGI app: no framework at all."""
    body = _body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@asynccontextmanager
async def _as_the_app_starts(_app: FastAPI) -> AsyncIterator[None]:
    """What the real app's lifespan does that a plain route's speed depends on: its thread
    limit (REQUEST_THREADS) and `gc.freeze()` (signupflow/app.py)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = Settings().request_threads
    gc.freeze()
    yield


def plain() -> FastAPI:
    """Plain FastAPI routes: `async def` (in the event loop) and `def` (a trip through the
    thread pool, as every route that reads the database takes)."""
    body = _body()
    app = FastAPI(lifespan=_as_the_app_starts)

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/async")
    async def in_loop() -> Response:
        return Response(body, media_type="application/json")

    @app.get("/def")
    def in_thread() -> Response:
        return Response(body, media_type="application/json")

    return app
