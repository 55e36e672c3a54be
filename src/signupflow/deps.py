"""The dependencies every route uses: DbSession, CurrentActor and role requirements.

Routes and dependencies that touch the synchronous session are plain `def`, so FastAPI runs
them in its thread pool and the event loop never blocks on the database. Those that do not are
`async def`: each plain `def` is one more trip through the thread pool, behind every request
waiting there (under 64 connections the trips cost more than the work). So a plain `def`
route also works out its role requirement and finishes its unit of work in its own trip
(`in_route_thread`, which `app.add_routes_flat` puts around each): one trip per request.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.auth.models import User
from signupflow.auth.revocation import is_revoked
from signupflow.auth.tokens import decode_access_token
from signupflow.conditional import refuse_unchanged
from signupflow.db.session import finish, finished, finishing
from signupflow.errors import PermissionDenied, Unauthenticated
from signupflow.http_methods import READS
from signupflow.organisations.data_versions import as_version, version_of
from signupflow.organisations.models import Organisation
from signupflow.people.models import MemberRole, Membership, Person
from signupflow.settings import Settings
from signupflow.state.ratelimit import enforce
from signupflow.state.store import SharedStore
from signupflow.tenancy import ORGANISATION, scoped

API_PREFIX = "/api/v1"
T = TypeVar("T")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work. Its turn is awaited in the event loop, holding no thread
    and no connection (see app.py's lifespan); the session opens there too (a new session
    touches no connection). A GET's session only reads (db/session.py,
    `make_reading_session_factory`). A plain `def` route finishes it in its own thread
    (`in_route_thread`); otherwise it is finished here, in the thread pool (commit or rollback
    talk to the database)."""
    state = request.app.state
    async with state.session_slots:
        reads_only = request.method in READS
        session = (state.reading_session_factory if reads_only else state.session_factory)()
        try:
            yield session
        except BaseException as exc:
            if not finished(session):
                # The route never ran: its authorisation, if it has one, answers first.
                first = getattr(request.state, "authorisation", None)
                await _finish(session, exc, first if isinstance(exc, Exception) else None)
            raise
        if not finished(session):
            await _finish(session, None)


async def _finish(
    session: Session, error: BaseException | None, first: InRouteThread[Any] | None = None
) -> None:
    # Shielded: a cancelled request (the client went away) still rolls back and frees its
    # connection.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_refuse_first, session, error, first)


def _refuse_first(
    session: Session, error: BaseException | None, first: InRouteThread[Any] | None
) -> None:
    """Finish the unit of work; when `first` refuses the request, with its refusal."""
    if first is not None:
        try:
            first.work()
        except BaseException as refusal:
            finish(session, refusal)
            raise
    finish(session, error)


AppSettings = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a failed commit can
# never be answered with a 2xx.
DbSession = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_store(request: Request) -> SharedStore:
    store: SharedStore = request.app.state.store
    return store


Store = Annotated[SharedStore, Depends(get_store)]


def client_address(request: Request) -> str:
    """The client's address; behind the edge, Uvicorn takes it from X-Forwarded-For, but
    only when the connection comes from a trusted proxy (TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


def current_actor(
    request: Request,
    session: DbSession,
    credentials: Credentials,
) -> Actor:
    # Once per request, however many dependencies ask (the role requirements call this
    # directly, outside FastAPI's dependency cache): the rate limits are charged once.
    known: Actor | None = getattr(request.state, "actor", None)
    if known is not None:
        return known
    # Settings and store straight from the app's state, not as dependencies: this runs on
    # every request, and each dependency FastAPI solves costs about as much as a query.
    settings: Settings = request.app.state.settings
    store: SharedStore = request.app.state.store
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer token", code="auth.token_missing")
    claims = decode_access_token(credentials.credentials, keys=settings.verification_keys)
    enforce(store, f"api:{claims.user_id}", per_minute=settings.api_requests_per_minute)
    enforce(store, f"org:{claims.organisation_id}", per_minute=settings.org_api_requests_per_minute)
    row = session.execute(
        _principal(), {"user_id": claims.user_id, "organisation_id": claims.organisation_id}
    ).one_or_none()
    if row is None or row.token_version != claims.token_version:
        raise Unauthenticated("session is no longer valid", code="auth.session_invalid")
    if is_revoked(session, store, claims.session_family):
        raise Unauthenticated("session has been logged out", code="auth.logged_out")
    # For the request log line (read by the logging middleware from the shared scope state).
    request.state.user_id = claims.user_id
    request.state.organisation_id = claims.organisation_id
    # Read before anything the route reads, for its ETag (conditional.py).
    request.state.data_version = as_version(row.data_version)
    actor = Actor(
        user_id=claims.user_id,
        organisation=row.Organisation,
        role=row.role,
        person_id=row.person_id,
        session_family=claims.session_family,
    )
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


@functools.cache
def _principal() -> Select[int, MemberRole, Organisation, int | None, Any]:
    """Who the token's user is in its organisation: the organisation comes from a membership
    that still exists, never from the URL; and the organisation's data version, for a read's
    ETag. One statement built once: it runs on every request (building a statement and its
    cache key took about 0.3 ms, docs/benchmarks.md)."""
    person_id = scoped(
        select(Person.id).where(Person.user_id == User.id), Person, ORGANISATION
    ).scalar_subquery()
    return (
        select(
            User.token_version,
            Membership.role,
            Organisation,
            person_id.label("person_id"),
            version_of(ORGANISATION).label("data_version"),
        )
        .join(Membership, Membership.user_id == User.id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(User.id == bindparam("user_id"), Organisation.id == ORGANISATION)
    )


def optional_actor(
    request: Request,
    session: DbSession,
    credentials: Credentials,
) -> Actor | None:
    """The caller on routes open to everyone that act differently for a logged-in one: None
    without a bearer token; a bearer token that does not check out is still a 401."""
    if credentials is None:
        return None
    return current_actor(request, session, credentials)


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


def in_route_thread(route: Callable[..., T]) -> Callable[..., T]:
    """A plain `def` route that works out its `InRouteThread` arguments and finishes its unit of
    work (commit or rollback) in the thread FastAPI runs it in, rather than in trips through
    the thread pool of their own (docs/benchmarks.md, "Fast reads"). The commit still comes
    before the answer is written; a failed one is the request's error."""

    @functools.wraps(route)
    def run(**values: Any) -> T:
        session = next((v for v in values.values() if isinstance(v, Session)), None)
        with finishing(session) if session is not None else contextlib.nullcontext():
            for name, value in values.items():
                if isinstance(value, InRouteThread):
                    values[name] = value.work()
            return route(**values)

    return run


class InRouteThread(Generic[T]):
    """A dependency's value worked out in the route's own thread (`in_route_thread`), just
    before the route runs, instead of in a trip through the thread pool of its own."""

    __slots__ = ("work",)

    def __init__(self, work: Callable[[], T]) -> None:
        self.work = work


# The dependencies `require` made, and the role each requires. Their values are InRouteThread:
# only a plain `def` route can take them (app.add_routes_flat refuses an `async def` one).
ROLE_REQUIREMENTS: dict[Callable[..., Any], MemberRole] = {}


def require(role: MemberRole) -> Callable[..., Awaitable[InRouteThread[Actor]]]:
    """Authentication, the role and the conditional read: on every request, in the route's own
    trip through the thread pool (a trip of its own cost list people an eighth of its
    requests/s, docs/benchmarks.md). FastAPI checks the request's input before the route
    runs; when that or anything else fails first, the unit of work (`get_session`) works this
    out before answering, so a caller without the right is still refused before their input
    is judged."""

    def authorised(request: Request, session: Session, credentials: Credentials) -> Actor:
        actor = current_actor(request, session, credentials)
        if not actor.at_least(role):
            raise PermissionDenied(
                f"requires the {role.value} role or higher",
                code="auth.role_required",
                params={"role": role.value},
            )
        # A GET's 304, before the route runs.
        refuse_unchanged(request, actor, version=request.state.data_version)
        return actor

    async def dependency(
        request: Request, session: DbSession, credentials: Credentials
    ) -> InRouteThread[Actor]:
        authorisation = InRouteThread(functools.partial(authorised, request, session, credentials))
        request.state.authorisation = authorisation
        return authorisation

    ROLE_REQUIREMENTS[dependency] = role
    return dependency


def required_role(dependant: Dependant) -> MemberRole | None:
    """The role a route requires (`Member`, `Scheduler` or `Admin` among its parameters), if
    any. TypeError for a requirement whose actor the route does not take itself (one taken by
    another dependency, or listed in `dependencies=`): nothing would work it out."""
    role = None
    for dependency in dependant.dependencies:
        if dependency.call in ROLE_REQUIREMENTS and dependency.name is not None:
            role = ROLE_REQUIREMENTS[dependency.call]
        elif _takes_a_requirement(dependency):
            raise TypeError(
                f"{dependant.path or dependant.call}: take the role requirement as a parameter "
                "of the route itself"
            )
    return role


def _takes_a_requirement(dependant: Dependant) -> bool:
    return dependant.call in ROLE_REQUIREMENTS or any(
        _takes_a_requirement(d) for d in dependant.dependencies
    )


Member = Annotated[Actor, Depends(require(MemberRole.VOLUNTEER))]
Scheduler = Annotated[Actor, Depends(require(MemberRole.SCHEDULER))]
Admin = Annotated[Actor, Depends(require(MemberRole.ADMIN))]


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Pagination = Annotated[PageParams, Depends(page_params)]
