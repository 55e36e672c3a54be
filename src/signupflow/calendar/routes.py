from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response, status
from sqlalchemy.orm import Session

from signupflow.actor import Actor
from signupflow.auth.secret_checks import SecretChecked
from signupflow.auth.tokens import digest
from signupflow.calendar import service
from signupflow.calendar.schemas import FeedCreated
from signupflow.deps import API_PREFIX, Admin, AppSettings, DbSession, Member
from signupflow.errors import NotFound
from signupflow.events.service import get_event
from signupflow.people.models import Person
from signupflow.schemas import Id
from signupflow.settings import Settings
from signupflow.tenancy import get_scoped

router = APIRouter(prefix=API_PREFIX, tags=["calendar"])
ICS = "text/calendar; charset=utf-8"
FeedToken = Annotated[
    str,
    Path(
        min_length=16,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The secret part of a feed URL",
    ),
]


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        content=body,
        media_type=ICS,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            # Calendar apps poll; the URL is a credential, so no shared cache may keep it.
            "Cache-Control": "private, max-age=300",
        },
    )


def _created(request: Request, token: str, scope: Literal["person", "organisation"]) -> FeedCreated:
    # url_for follows the request's scheme and host; behind the edge Uvicorn takes them from
    # X-Forwarded-Proto/Host only for TRUSTED_PROXIES.
    https_url = str(request.url_for("calendar_feed", token=token))
    webcal_url = "webcal://" + https_url.split("://", 1)[1]
    return FeedCreated(scope=scope, https_url=https_url, webcal_url=webcal_url)


@router.get(
    "/calendar/{token}.ics",
    name="calendar_feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar feed"}},
)
def calendar_feed(
    session: DbSession, settings: AppSettings, budget: SecretChecked, token: FeedToken
) -> Response:
    """A subscribed calendar (no login: the URL is the secret). 404 once revoked or rotated.
    Fetches are limited per feed and per client address."""
    budget.spend(digest(token))
    return _ics(service.feed_document(session, token=token, settings=settings), "calendar.ics")


def _own_person(actor: Actor) -> int:
    if actor.person_id is None:
        raise NotFound("you have no person record in this organisation", code="calendar.no_person")
    return actor.person_id


def _shown(
    request: Request, session: Session, settings: Settings, actor: Actor, person_id: int | None
) -> FeedCreated:
    """A feed's URL again (`person_id` None: the organisation's)."""
    token = service.current_token(
        session,
        organisation_id=actor.organisation_id,
        person_id=person_id,
        keys=settings.verification_keys,
    )
    return _created(request, token, "organisation" if person_id is None else "person")


def _replaced(
    request: Request, session: Session, settings: Settings, actor: Actor, person_id: int | None
) -> FeedCreated:
    """A new URL for the feed; the previous one stops working."""
    token = service.rotate_feed(
        session,
        organisation_id=actor.organisation_id,
        person_id=person_id,
        key=settings.secret_key.get_secret_value(),
    )
    return _created(request, token, "organisation" if person_id is None else "person")


@router.get("/calendar/feeds/me", response_model=FeedCreated)
def my_feed(
    request: Request, session: DbSession, settings: AppSettings, actor: Member
) -> FeedCreated:
    """Your personal feed's URL, as often as you need it. 404 `calendar.no_feed` before one
    is made; `calendar.feed_hidden` for one that cannot be shown again (replace it)."""
    return _shown(request, session, settings, actor, _own_person(actor))


@router.put("/calendar/feeds/me", response_model=FeedCreated)
def rotate_my_feed(
    request: Request, session: DbSession, settings: AppSettings, actor: Member
) -> FeedCreated:
    """Create your personal feed of shifts, or replace its URL (the old one stops working)."""
    return _replaced(request, session, settings, actor, _own_person(actor))


@router.delete("/calendar/feeds/me", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_feed(session: DbSession, actor: Member) -> None:
    if actor.person_id is not None:
        service.revoke_feed(
            session, organisation_id=actor.organisation_id, person_id=actor.person_id
        )


@router.get("/calendar/feeds/organisation", response_model=FeedCreated)
def organisation_feed(
    request: Request, session: DbSession, settings: AppSettings, actor: Admin
) -> FeedCreated:
    """The organisation's feed URL (404 as for your own feed)."""
    return _shown(request, session, settings, actor, None)


@router.put("/calendar/feeds/organisation", response_model=FeedCreated)
def rotate_organisation_feed(
    request: Request, session: DbSession, settings: AppSettings, actor: Admin
) -> FeedCreated:
    """Create the organisation's feed of published events, or replace its URL."""
    return _replaced(request, session, settings, actor, None)


@router.delete("/calendar/feeds/organisation", status_code=status.HTTP_204_NO_CONTENT)
def revoke_organisation_feed(session: DbSession, actor: Admin) -> None:
    service.revoke_feed(session, organisation_id=actor.organisation_id, person_id=None)


@router.get("/people/{person_id}/calendar-feed", response_model=FeedCreated)
def person_feed(
    request: Request, session: DbSession, settings: AppSettings, actor: Admin, person_id: Id
) -> FeedCreated:
    """Someone's feed URL (404 as for your own feed)."""
    person = get_scoped(session, Person, person_id, actor.organisation_id)
    return _shown(request, session, settings, actor, person.id)


@router.put("/people/{person_id}/calendar-feed", response_model=FeedCreated)
def rotate_person_feed(
    request: Request, session: DbSession, settings: AppSettings, actor: Admin, person_id: Id
) -> FeedCreated:
    """An admin creates or replaces someone's feed (for people without a login, too)."""
    person = get_scoped(session, Person, person_id, actor.organisation_id)
    return _replaced(request, session, settings, actor, person.id)


@router.delete("/people/{person_id}/calendar-feed", status_code=status.HTTP_204_NO_CONTENT)
def revoke_person_feed(session: DbSession, actor: Admin, person_id: Id) -> None:
    person = get_scoped(session, Person, person_id, actor.organisation_id)
    service.revoke_feed(session, organisation_id=actor.organisation_id, person_id=person.id)


@router.get(
    "/events/{event_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar file"}},
)
def event_calendar(
    session: DbSession, settings: AppSettings, actor: Member, event_id: Id
) -> Response:
    """One event as an .ics file, to add it to a calendar."""
    event = get_event(session, actor, event_id)
    body = service.event_document(
        session, organisation=actor.organisation, event=event, settings=settings
    )
    return _ics(body, f"event-{event.id}.ics")
