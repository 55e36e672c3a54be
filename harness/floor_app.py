"""The floor under a read (bench/floor_bench.py): apps that answer GET with a fixed JSON body
(the file FLOOR_BODY_FILE names), served by `signupflow serve --app` with the real server's
settings. `/health/ready` answers 200, so `AppServer.wait_ready` works as for the real app."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response
from starlette.types import Receive, Scope, Send


def _body() -> bytes:
    return Path(os.environ["FLOOR_BODY_FILE"]).read_bytes()


def raw() -> object:
    """A raw ASGI app: no framework at all."""
    body = _body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def plain() -> FastAPI:
    """Plain FastAPI routes: `async def` (in the event loop) and `def` (a trip through the
    thread pool, as every route that reads the database takes)."""
    body = _body()
    app = FastAPI()

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
