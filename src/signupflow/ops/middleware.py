"""Pure ASGI middleware (never BaseHTTPMiddleware: it breaks context variables)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signupflow.errors import DomainError, problem, problem_of
from signupflow.ops import metrics
from signupflow.ops.logging import request_id_var
from signupflow.ops.shutdown import DRAIN

log = logging.getLogger("signupflow.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
QUIET_ROUTES = frozenset({"/metrics"})  # scraped every few seconds
# Health probes never get here: ProbeEndpoints answers them first.
PROBE_PATHS = ("/metrics",)


def request_id_for(headers: Mapping[bytes, bytes]) -> str:
    """The caller's X-Request-ID (of the request's headers) when it is a sane token, else a
    new one."""
    incoming = headers.get(b"x-request-id", b"").decode("latin-1")
    return incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def log_request(
    level: int, method: str, route: str, status: int, seconds: float, **fields: Any
) -> None:
    """The one access-log line per request (route template, never the raw path)."""
    log.log(
        level,
        "%s %s %s",
        method,
        route,
        status,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "latency_ms": round(seconds * 1000, 2),
            **fields,
        },
    )


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class AllowedHosts:
    """The Host names served (ALLOWED_HOSTS): others are refused, against DNS rebinding and
    host-header attacks. `*` allows any; `*.example.org` any subdomain."""

    def __init__(self, allowed_hosts: list[str]) -> None:
        self.any = "*" in allowed_hosts
        self.exact = {h.lower() for h in allowed_hosts if not h.startswith("*.")}
        self.suffixes = tuple(h[1:].lower() for h in allowed_hosts if h.startswith("*."))

    def allow(self, path: str, headers: Mapping[bytes, bytes]) -> bool:
        if self.any or path.startswith(PROBE_PATHS):
            # Probes come from the edge, the orchestrator or the container itself, addressed
            # by IP; they reveal nothing a host-header attack could use.
            return True
        raw = headers.get(b"host", b"").decode("latin-1").lower()
        host = raw.rsplit(":", 1)[0] if not raw.endswith("]") else raw
        return host in self.exact or bool(self.suffixes and host.endswith(self.suffixes))


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# API responses are data: nothing in them may load or run anything.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# The browser app (web/) runs only its own files: no inline script or style, no other origin.
# Swagger UI at /docs loads from a CDN with an inline bootstrap, so it keeps no page policy.
WEB_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    b"form-action 'self'; frame-ancestors 'none'",
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class RequestContextMiddleware:
    """What every HTTP request gets, in one layer (each layer is an await and a wrapped send
    on every request): its id (from X-Request-ID or generated, always returned), the security
    headers, the refusal of a Host not served (400 problem+json, logged with its id), one log
    line and the metrics. Logs carry the route template, never the raw path."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str], hsts: bool) -> None:
        self.app = app
        self.hosts = AllowedHosts(allowed_hosts)
        tls = [HSTS] if hsts else []
        self.api_headers = [*SECURITY_HEADERS, API_CSP, *tls]
        self.docs_headers = [*SECURITY_HEADERS, *tls]
        self.web_headers = [*SECURITY_HEADERS, WEB_CSP, *tls]

    def security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        if path.startswith("/api/"):
            return self.api_headers
        return (
            self.docs_headers if path == "/docs" or path.startswith("/docs/") else self.web_headers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        if scope["type"] != "http":
            if scope["type"] == "websocket" and not self.hosts.allow(scope["path"], headers):
                await send({"type": "websocket.close", "code": 1008})  # policy violation
                return
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(headers)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        extra = [*self.security_headers(scope["path"]), (b"x-request-id", request_id.encode())]

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *extra]
                if DRAIN.draining:  # clients reconnect, and the edge picks another instance
                    message["headers"].append((b"connection", b"close"))
            await send(message)

        try:
            if self.hosts.allow(scope["path"], headers):
                await self.app(scope, receive, send_with_headers)
            else:
                refused = problem(
                    400,
                    "Invalid host",
                    "This host name is not served here.",
                    "/problems/invalid-host",
                )
                await refused(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            metrics.observe(scope["method"], route, status, elapsed)
            state: dict[str, Any] = scope.get("state", {})
            level = logging.DEBUG if route in QUIET_ROUTES and status < 500 else logging.INFO
            log_request(
                level,
                scope["method"],
                route,
                status,
                elapsed,
                client=(scope.get("client") or ("unknown",))[0],
                organisation_id=state.get("organisation_id"),
                user_id=state.get("user_id"),
            )
            request_id_var.reset(token)


class RequestBodyTooLarge(DomainError):
    status, type, title = 413, "/problems/too-large", "The request body is too large"


def _body_too_large(limit: int) -> RequestBodyTooLarge:
    return RequestBodyTooLarge(
        f"at most {limit} bytes",
        code="request.body_too_large",
        params={"limit": limit, "max_kib": limit // 1024},
    )


def _declared_length(scope: Scope) -> int | None:
    raw = dict(scope["headers"]).get(b"content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None  # the server refuses a malformed Content-Length before we run


class RequestBodyLimitMiddleware:
    """Refuse a request body over the limit with 413 before the app parses any of it: a
    declared Content-Length at once, without reading; a streamed (chunked) body as soon as
    what arrived passes the limit. Memory per request is then bounded by the limit, whoever
    sends it (login is unauthenticated)."""

    def __init__(self, app: ASGIApp, *, limit: int, limit_by_path: Mapping[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.limit_by_path = dict(limit_by_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_by_path.get(scope["path"], self.limit)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, scope, receive, send)
            return
        received = 0
        refused = False
        started = False

        async def receive_within_limit() -> Message:
            nonlocal received, refused
            if refused:
                raise _body_too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise _body_too_large(limit)
            return message

        async def send_unless_refused(message: Message) -> None:
            nonlocal started
            # After a refusal the app answers a body it never got (FastAPI: 400 "error
            # parsing the body"); the 413 below replaces that answer.
            if refused and not started:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_unless_refused)
        except Exception:
            if not refused or started:
                raise
        if refused and not started:
            await _refuse(limit, scope, receive, send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = problem_of(_body_too_large(limit))
    # The rest of the body is never read, so the connection cannot carry another request.
    response.headers["connection"] = "close"
    await response(scope, receive, send)
