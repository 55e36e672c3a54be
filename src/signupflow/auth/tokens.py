"""Access tokens are short-lived JWTs; refresh and invitation tokens are opaque random strings
of which only a SHA-256 digest is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
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


def derived_token(key: str, salt: str) -> str:
    """A URL-safe token only the secret key's holder can make from `salt` (HMAC-SHA256): the
    same salt and key give it again, as a random token cannot."""
    mac = hmac.new(key.encode(), f"derived-token:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


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


# A token whose signature and claims were verified is remembered until it expires: verifying again
# was about 3 % of a small list's samples (docs/benchmarks.md, "Fast reads"). Keyed by the token and
# the keys it was verified with; bounded, the oldest forgotten first. What can change during a
# token's life (its session revoked, its user's token version, the membership) is still checked on
# every request by deps.current_actor.
_VERIFIED: dict[tuple[str, tuple[str, ...]], tuple[AccessClaims, float]] = {}
_VERIFIED_MAX = 10_000
_VERIFIED_LOCK = threading.Lock()


def decode_access_token(token: str, *, keys: list[str]) -> AccessClaims:
    """Verify with the current key, then with previous ones (rotation without logouts)."""
    cache_key = (token, tuple(keys))
    known = _VERIFIED.get(cache_key)
    if known is not None and time.time() < known[1]:
        return known[0]
    claims, expires_at = _verified(token, keys)
    with _VERIFIED_LOCK:
        while len(_VERIFIED) >= _VERIFIED_MAX:
            del _VERIFIED[next(iter(_VERIFIED))]
        _VERIFIED[cache_key] = (claims, expires_at)
    return claims


def _verified(token: str, keys: list[str]) -> tuple[AccessClaims, float]:
    for key in keys[:-1]:
        try:
            return _decode(token, key)
        except Unauthenticated as exc:
            if not isinstance(exc.__cause__, jwt.InvalidSignatureError):
                raise
    return _decode(token, keys[-1])


def _decode(token: str, secret: str) -> tuple[AccessClaims, float]:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        claims = AccessClaims(
            user_id=int(payload["sub"]),
            organisation_id=int(payload["org"]),
            token_version=int(payload["ver"]),
            session_family=str(payload["sid"]),
        )
        return claims, float(payload["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("access token expired", code="auth.token_expired") from exc
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
        raise Unauthenticated("invalid access token", code="auth.token_invalid") from exc
