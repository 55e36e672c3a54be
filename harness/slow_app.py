"""The real app plus one slow endpoint, to watch in-flight requests survive a shutdown."""

from __future__ import annotations

import anyio
from fastapi import FastAPI

from signupflow.app import app_from_environment

SLOW_S = 5.0


def create() -> FastAPI:
    app = app_from_environment()

    @app.get("/test/slow")
    async def slow() -> dict[str, float]:
        await anyio.sleep(SLOW_S)
        return {"slept": SLOW_S}

    return app
