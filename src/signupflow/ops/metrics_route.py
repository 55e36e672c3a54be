"""GET /metrics for Prometheus: a bearer token guards it (METRICS_TOKEN); without a token it
is served only in development and test. The edge never routes it publicly either."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from signupflow.errors import NotFound
from signupflow.ops.metrics import CONTENT_TYPE_LATEST, render
from signupflow.settings import Settings

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if expected is None and settings.is_strict:
        raise NotFound(code="resource.not_found")
    if expected is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise NotFound(code="resource.not_found")  # do not reveal that the endpoint exists
    return Response(render(request.app.state.pool_collector), media_type=CONTENT_TYPE_LATEST)
