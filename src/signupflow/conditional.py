"""Conditional reads (RFC 9110 section 13): every JSON GET a member makes answers with a weak
`ETag`, and one whose `If-None-Match` names the tag it would answer with gets 304 Not
Modified before the route runs: none of its queries, no body.

The tag is computed before the route, from what every such body depends on and nothing
else:
- the organisation's data version (organisations/data_versions.py), which every write to
  what its reads show changes in the same commit;
- who asks: user, role, person (bodies differ by role and person: visibility rules);
- the path and query string;
- the code: the release, the package version and a digest of the package's source, so a
  deploy (or an edit in development) never answers with a body an older code built.
Bodies depend on nothing else: no locale (the API answers codes, not messages; a test
compares bodies under two Accept-Language headers) and not the clock, except the reads in
CLOCK_DEPENDENT, which carry no tag.

Weak, because one tag can stand for two bodies: a read that takes the version just before a
concurrent write commits, and its rows just after, sends new content under the old version's
tag (on PostgreSQL, where each statement sees the latest commits). The version is always
read first, so such a tag is older than its body, never newer: the next read after the
write's commit sees a new version and fetches again. The reverse, new tag with old body,
cannot happen, so a client is never left with content older than its tag says.

`Cache-Control: private, no-cache`: a browser may keep the body but must ask again each time
(with If-None-Match); no shared cache may store it (bodies are one person's view)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signupflow import __version__
from signupflow.actor import Actor
from signupflow.settings import Settings

CACHE_CONTROL = "private, no-cache"
STATE_KEY = "entity_tag"  # where the check leaves the tag for EntityTagHeaders


def _takeable(request: Request) -> bool:
    # Any value FastAPI would not read as false: a bad one is a 422, which has no tag anyway.
    falsy = {"0", "off", "f", "false", "n", "no"}
    return any(v.lower() not in falsy for v in request.query_params.getlist("takeable"))


@dataclass(frozen=True)
class ClockDependent:
    why: str
    # Which requests of the route; None: all of them.
    when: Callable[[Request], bool] | None = None


# Reads whose body changes as time passes, without any write: they answer without a tag.
CLOCK_DEPENDENT: dict[str, ClockDependent] = {
    "/api/v1/invitations": ClockDependent(
        "a pending invitation reads as expired once its expires_at has passed"
    ),
    "/api/v1/swaps": ClockDependent(
        "with takeable=true (offers of events that have started drop out of the list)",
        when=_takeable,
    ),
}


class NotModified(Exception):
    """The client's copy is current: answered 304 with its tag, before the route runs."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


def install(app: FastAPI) -> None:
    """Answer NotModified, add the headers to tagged answers, and say so in the OpenAPI
    document. Called by create_app."""
    settings: Settings = app.state.settings
    app.state.entity_tag_release = release_digest(settings)
    app.add_exception_handler(NotModified, _not_modified)  # type: ignore[arg-type]
    app.add_middleware(EntityTagHeaders)
    _document(app)


def refuse_unchanged(request: Request, actor: Actor, *, version: str) -> None:
    """For a GET of a JSON read: compute its tag (kept for the answer's ETag header) and
    raise NotModified when If-None-Match names it. Runs after authentication, which read the
    organisation's `version` before anything the route reads, and the role check: a 304 costs
    only those."""
    if request.method != "GET" or not is_tagged(request):
        return
    tag = entity_tag(
        release=request.app.state.entity_tag_release,
        version=version,
        actor=actor,
        path=request.url.path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
    )
    setattr(request.state, STATE_KEY, tag)
    if matches(request.headers.get("if-none-match"), tag):
        raise NotModified(tag)


def is_tagged(request: Request) -> bool:
    """A JSON read (files such as CSV and iCalendar downloads are not) whose body does not
    change with the clock."""
    route = request.scope.get("route")
    response_class = getattr(route, "response_class", None)
    if not (
        isinstance(response_class, DefaultPlaceholder)
        or (isinstance(response_class, type) and issubclass(response_class, JSONResponse))
    ):
        return False
    clock = CLOCK_DEPENDENT.get(getattr(route, "path", ""))
    return clock is None or (clock.when is not None and not clock.when(request))


def entity_tag(*, release: str, version: str, actor: Actor, path: str, query: str) -> str:
    parts = (
        release,
        str(actor.organisation_id),
        version,
        str(actor.user_id),
        actor.role.value,
        str(actor.person_id),
        path,
        query,
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Weak comparison (RFC 9110 8.8.3.2), as If-None-Match uses. `*` is not evaluated for a
    read: whether the resource exists is only known by running the route."""
    if not if_none_match:
        return False
    opaque = tag.removeprefix("W/")
    return any(
        candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(",")
    )


def release_digest(settings: Settings) -> str:
    return hashlib.sha256(
        f"{__version__}\x1f{settings.release or ''}\x1f{source_digest()}".encode()
    ).hexdigest()


@cache
def source_digest() -> str:
    """A digest of the package's Python source: another build of the code, another digest,
    even when nobody changed the version or set RELEASE (about 3 ms, once per process)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _not_modified(_request: Request, exc: NotModified) -> Response:
    return Response(status_code=304, headers={"ETag": exc.tag, "Cache-Control": CACHE_CONTROL})


class EntityTagHeaders:
    """Adds the tag the check computed, with Cache-Control, to a 200 answer, however the
    route built it (a returned model or a Response of its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return

        async def send_with_tag(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                tag = scope.get("state", {}).get(STATE_KEY)
                if tag:
                    headers = list(message.get("headers", []))
                    present = {name.lower() for name, _ in headers}
                    if b"etag" not in present:
                        headers.append((b"etag", tag.encode()))
                    if b"cache-control" not in present:
                        headers.append((b"cache-control", CACHE_CONTROL.encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_tag)


# Written into each operation rather than referred to: readers of the document (and its
# tests) find every parameter with its name and place.
_PARAMETER: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The `ETag` of an earlier answer to this same request: while it is still "
    "current, the answer is 304 Not Modified, without a body.",
}
_ETAG_HEADER = {
    "description": "A weak entity tag of this answer, for `If-None-Match`.",
    "schema": {"type": "string"},
}
_NOT_MODIFIED = {
    "description": "Not modified: the answer whose `ETag` you sent is still current; reuse "
    "its body.",
    "headers": {"ETag": _ETAG_HEADER},
}


def documented(operation: dict[str, Any]) -> bool:
    """Whether an OpenAPI GET operation is a tagged read: a member's JSON read."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    return bool(operation.get("security")) and "application/json" in content


def _document(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for path, item in schema.get("paths", {}).items():
            operation = item.get("get")
            if operation is None or not documented(operation) or "304" in operation["responses"]:
                continue
            clock = CLOCK_DEPENDENT.get(path)
            if clock is not None and clock.when is None:
                continue
            parameter = dict(_PARAMETER)
            if clock is not None:
                parameter["description"] += (
                    f" No tag, so no 304, {clock.why}: its answer changes with the clock."
                )
            operation.setdefault("parameters", []).append(parameter)
            operation["responses"]["200"].setdefault("headers", {})["ETag"] = dict(_ETAG_HEADER)
            operation["responses"]["304"] = dict(_NOT_MODIFIED)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
