"""Access tokens are short-lived JWTs; refresh and invitation tokens are opaque random strings
of which only a SHA-256 digest is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from signupflow.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "signupflow"


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    organisation_id: int
    token_version: int
    session_family: str


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def encode_access_token(claims: AccessClaims, *, secret: str, ttl_s: int) -> str:
    now = datetime.now(UTC)
    payload = {
        "iss": ISSUER,
        "sub": str(claims.user_id),
        "org": claims.organisation_id,
        "ver": claims.token_version,
        "sid": claims.session_family,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, keys: list[str]) -> AccessClaims:
    """Verify with the current key, then with previous ones (rotation without logouts)."""
    for key in keys[:-1]:
        try:
            return _decode(token, key)
        except Unauthenticated as exc:
            if not isinstance(exc.__cause__, jwt.InvalidSignatureError):
                raise
    return _decode(token, keys[-1])


def _decode(token: str, secret: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return AccessClaims(
            user_id=int(payload["sub"]),
            organisation_id=int(payload["org"]),
            token_version=int(payload["ver"]),
            session_family=str(payload["sid"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("access token expired", code="auth.token_expired") from exc
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
        raise Unauthenticated("invalid access token", code="auth.token_invalid") from exc
