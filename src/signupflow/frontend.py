"""Serve the browser app in web/: static files under /static, index.html at / and for any
other GET path the API, probes and docs do not own (client routes such as /login)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Paths the app never answers with index.html: a typo under /api must stay a problem+json 404.
RESERVED_PREFIXES = ("/api", "/health", "/metrics", "/docs", "/static")
# index.html names its assets without a content hash, so browsers revalidate it every time.
INDEX_HEADERS = {"Cache-Control": "no-cache"}


class ClientRouteFallback(BaseRoute):
    """Matches GET and HEAD on unreserved paths only, so other methods keep their 404/405."""

    def __init__(self, index: Path) -> None:
        self.index = index

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return Match.NONE, {}
        path: str = scope["path"]
        if any(path == p or path.startswith(p + "/") for p in RESERVED_PREFIXES):
            return Match.NONE, {}
        return Match.FULL, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = FileResponse(self.index, media_type="text/html", headers=INDEX_HEADERS)
        await response(scope, receive, send)


def mount_frontend(app: FastAPI, web_dir: Path = WEB_DIR) -> None:
    """Call after every API router: the fallback is the last route. Without web/ (an image
    that ships the API alone) nothing is mounted."""
    index = web_dir / "index.html"
    if not index.is_file():
        return
    app.mount("/static", StaticFiles(directory=web_dir), name="static")
    app.router.routes.append(ClientRouteFallback(index))
