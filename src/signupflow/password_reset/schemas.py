from __future__ import annotations

from pydantic import Field

from signupflow.schemas import ApiModel, Email, Password


class PasswordResetRequest(ApiModel):
    email: Email


class PasswordResetConfirm(ApiModel):
    token: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    password: Password
