"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from signupflow import __version__

router = APIRouter(tags=["health"])


@router.get("/health/live")
def live() -> dict[str, str]:
    """The process is up. Never touches dependencies, so it cannot fail because of them."""
    return {"status": "alive", "version": __version__}


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """Database reachable: 200, otherwise 503."""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy"; details go to the logs, not out
        return JSONResponse({"status": "unhealthy", "version": __version__}, status_code=503)
    return JSONResponse({"status": "healthy", "version": __version__})
