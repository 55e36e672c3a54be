from __future__ import annotations

from fastapi import APIRouter, Request, status

from signupflow.auth import service
from signupflow.auth.schemas import (
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    SignUpRequest,
    TokenResponse,
)
from signupflow.deps import API_PREFIX, AppSettings, DbSession, Member, Store, client_address
from signupflow.state.ratelimit import enforce, subject

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post("/signup", response_model=TokenResponse, status_code=status.HTTP_201_CREATED)
def sign_up(session: DbSession, settings: AppSettings, data: SignUpRequest) -> TokenResponse:
    """Create an organisation and its first admin, and log that admin in."""
    pair = service.sign_up(
        session,
        settings=settings,
        organisation_name=data.organisation_name,
        slug=data.slug,
        timezone=data.timezone,
        locale=data.locale,
        admin_name=data.name,
        email=data.email,
        password=data.password,
    )
    return TokenResponse.of(pair)


@router.post("/login", response_model=TokenResponse)
def log_in(
    request: Request, session: DbSession, settings: AppSettings, store: Store, data: LoginRequest
) -> TokenResponse:
    """Exchange e-mail and password for an access token (short-lived) and a refresh token.
    Attempts are limited per e-mail address and per client address (429 with Retry-After)."""
    limit = settings.login_attempts_per_minute
    enforce(store, f"login:email:{subject(data.email)}", per_minute=limit)
    enforce(store, f"login:ip:{subject(client_address(request))}", per_minute=limit * 10)
    pair = service.log_in(
        session,
        settings=settings,
        email=data.email,
        password=data.password,
        organisation_slug=data.organisation,
    )
    return TokenResponse.of(pair)


@router.post("/refresh", response_model=TokenResponse)
def refresh(
    session: DbSession, settings: AppSettings, store: Store, data: RefreshRequest
) -> TokenResponse:
    """Rotate a refresh token. Each works once; replaying a used one ends the session."""
    pair = service.rotate_refresh_token(
        session, settings=settings, store=store, refresh_token=data.refresh_token
    )
    return TokenResponse.of(pair)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(session: DbSession, settings: AppSettings, store: Store, principal: Member) -> None:
    """End this session: its refresh tokens and access tokens stop working, on every
    instance."""
    service.log_out(session, settings=settings, store=store, family=principal.session_family)


@router.post("/password", response_model=TokenResponse)
def change_password(
    session: DbSession, settings: AppSettings, principal: Member, data: PasswordChange
) -> TokenResponse:
    """Change your password. Every session, on every device, ends; a new one is returned."""
    pair = service.change_password(
        session,
        settings=settings,
        user_id=principal.user_id,
        organisation_id=principal.organisation_id,
        current_password=data.current_password,
        new_password=data.new_password,
    )
    return TokenResponse.of(pair)
