"""Serve the browser app in web/: static files under /static, index.html at / and for any
other GET path the API, probes and docs do not own (client routes such as /login)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from signupflow.http_methods import READS

# Paths the app never answers with index.html: a typo under /api must stay a problem+json 404.
RESERVED_PREFIXES = ("/api", "/health", "/metrics", "/docs", "/static")
# index.html names its assets without a content hash, so browsers revalidate it every time.
INDEX_HEADERS = {"Cache-Control": "no-cache"}


def _is_client_route(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] not in READS:
        return False
    path: str = scope["path"]
    return not any(path == p or path.startswith(p + "/") for p in RESERVED_PREFIXES)


def mount_frontend(app: FastAPI, web_dir: Path) -> None:
    """Serve index.html where no route matched (the router's default), so routes added at any
    time keep precedence and other methods keep their 404/405. Without web/ (an image that
    ships the API alone) nothing is mounted."""
    index = web_dir / "index.html"
    if not index.is_file():
        return
    app.mount("/static", StaticFiles(directory=web_dir), name="static")
    not_found = app.router.default

    async def client_route_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_client_route(scope):
            response = FileResponse(index, media_type="text/html", headers=INDEX_HEADERS)
            await response(scope, receive, send)
        else:
            await not_found(scope, receive, send)

    app.router.default = client_route_or_not_found
