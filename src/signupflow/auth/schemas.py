from __future__ import annotations

from typing import Literal

from pydantic import Field

from signupflow.auth.service import TokenPair
from signupflow.schemas import (
    ApiModel,
    Email,
    Locale,
    Name,
    Password,
    ResponseModel,
    Slug,
    TimeZone,
)


class SignUpRequest(ApiModel):
    organisation_name: Name
    slug: Slug = Field(description="Short unique address of the organisation")
    timezone: TimeZone = "UTC"
    locale: Locale = "en"
    name: Name = Field(description="The first admin's name")
    email: Email
    password: Password


class SignUpStarted(ResponseModel):
    email: str = Field(description="Where the confirmation link was sent")
    confirm_within_s: int = Field(description="How long the link works")


class SignUpConfirm(ApiModel):
    token: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")


class LoginRequest(ApiModel):
    email: Email
    password: str = Field(min_length=1, max_length=200)
    organisation: Slug | None = Field(
        default=None, description="Which organisation to act in, for members of several"
    )


class RefreshRequest(ApiModel):
    refresh_token: str = Field(min_length=16, max_length=128)


class PasswordChange(ApiModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: Password


class TokenResponse(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 -- the OAuth2 token type name
    expires_in: int
    organisation_id: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
            organisation_id=pair.organisation_id,
        )
