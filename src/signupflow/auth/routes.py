from __future__ import annotations

from fastapi import APIRouter, status

from signupflow.auth import registration, service
from signupflow.auth.registration import NewOrganisation
from signupflow.auth.schemas import (
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    SignUpConfirm,
    SignUpRequest,
    SignUpStarted,
    TokenResponse,
)
from signupflow.auth.secret_checks import SecretChecked
from signupflow.auth.tokens import digest
from signupflow.deps import API_PREFIX, AppSettings, DbSession, Member, Store

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post("/signup", response_model=SignUpStarted, status_code=status.HTTP_202_ACCEPTED)
def sign_up(
    session: DbSession, settings: AppSettings, budget: SecretChecked, data: SignUpRequest
) -> SignUpStarted:
    """Start creating an organisation and its first admin: a confirmation link is mailed to
    the address (valid for SIGNUP_TTL_S), and following it creates both. The answer is the
    same whether or not the address already has an account (its owner is told by e-mail).
    Limited per client address and per e-mail address."""
    budget.spend(data.email)
    new = NewOrganisation(
        organisation_name=data.organisation_name,
        slug=data.slug,
        timezone=data.timezone,
        locale=data.locale,
        admin_name=data.name,
        email=data.email,
    )
    registration.request_registration(session, settings=settings, new=new, password=data.password)
    return SignUpStarted(email=data.email, confirm_within_s=settings.signup_ttl_s)


@router.post("/signup/confirm", response_model=TokenResponse, status_code=status.HTTP_201_CREATED)
def confirm_sign_up(
    session: DbSession, settings: AppSettings, budget: SecretChecked, data: SignUpConfirm
) -> TokenResponse:
    """Follow the mailed link: creates the organisation and its admin, who is logged in.
    The link works once."""
    budget.spend(digest(data.token))
    return TokenResponse.of(
        registration.confirm_registration(session, settings=settings, token=data.token)
    )


@router.post("/login", response_model=TokenResponse)
def log_in(
    session: DbSession, settings: AppSettings, budget: SecretChecked, data: LoginRequest
) -> TokenResponse:
    """Exchange e-mail and password for an access token (short-lived) and a refresh token.
    Attempts are limited per e-mail address and per client address (429 with Retry-After)."""
    budget.spend(data.email)
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
    session: DbSession,
    settings: AppSettings,
    store: Store,
    budget: SecretChecked,
    data: RefreshRequest,
) -> TokenResponse:
    """Rotate a refresh token. Each works once; replaying a used one ends the session, except
    within REFRESH_REUSE_GRACE_S of its first use (two tabs refreshing at once), which
    returns the same new refresh token."""
    budget.spend(digest(data.refresh_token))
    pair = service.rotate_refresh_token(
        session, settings=settings, store=store, refresh_token=data.refresh_token
    )
    return TokenResponse.of(pair)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(session: DbSession, settings: AppSettings, store: Store, actor: Member) -> None:
    """End this session: its refresh tokens and access tokens stop working, on every
    instance."""
    service.log_out(session, actor, settings=settings, store=store)


@router.post("/password", response_model=TokenResponse)
def change_password(
    session: DbSession,
    settings: AppSettings,
    actor: Member,
    budget: SecretChecked,
    data: PasswordChange,
) -> TokenResponse:
    """Change your password. Every session, on every device, ends; a new one is returned.
    Attempts are limited per account and per client address."""
    budget.spend(str(actor.user_id))
    pair = service.change_password(
        session,
        actor,
        settings=settings,
        current_password=data.current_password,
        new_password=data.new_password,
    )
    return TokenResponse.of(pair)
