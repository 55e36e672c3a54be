from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from signupflow.deps import API_PREFIX, AppSettings, DbSession, Store, client_address
from signupflow.password_reset import service
from signupflow.password_reset.schemas import PasswordResetConfirm, PasswordResetRequest
from signupflow.state.ratelimit import enforce, subject

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
def request_password_reset(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    store: Store,
    data: PasswordResetRequest,
) -> Response:
    """Mail a single-use reset link, valid for PASSWORD_RESET_TTL_S. Always 202, whether or
    not the address has an account. Limited per address and per client address."""
    limit = settings.password_reset_requests_per_minute
    enforce(store, f"reset:email:{subject(data.email)}", per_minute=limit)
    enforce(store, f"reset:ip:{subject(client_address(request))}", per_minute=limit * 10)
    service.request_reset(session, email=data.email, settings=settings)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
def confirm_password_reset(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    store: Store,
    data: PasswordResetConfirm,
) -> None:
    """Set a new password with the token from the e-mail. Every session of the account ends;
    log in again with the new password."""
    limit = settings.password_reset_requests_per_minute
    enforce(store, f"reset-confirm:ip:{subject(client_address(request))}", per_minute=limit * 10)
    service.confirm_reset(session, token=data.token, password=data.password, settings=settings)
