from __future__ import annotations

from fastapi import APIRouter, Response, status

from signupflow.auth.secret_checks import SecretChecked
from signupflow.auth.tokens import digest
from signupflow.deps import API_PREFIX, AppSettings, DbSession
from signupflow.password_reset import service
from signupflow.password_reset.schemas import PasswordResetConfirm, PasswordResetRequest

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
def request_password_reset(
    session: DbSession, settings: AppSettings, budget: SecretChecked, data: PasswordResetRequest
) -> Response:
    """Mail a single-use reset link, valid for PASSWORD_RESET_TTL_S. Always 202, whether or
    not the address has an account. Limited per address and per client address."""
    budget.spend(data.email)
    service.request_reset(session, email=data.email, settings=settings)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
def confirm_password_reset(
    session: DbSession, settings: AppSettings, budget: SecretChecked, data: PasswordResetConfirm
) -> None:
    """Set a new password with the token from the e-mail. Every session of the account ends;
    log in again with the new password. Limited per link and per client address."""
    budget.spend(digest(data.token))
    service.confirm_reset(session, token=data.token, password=data.password, settings=settings)
