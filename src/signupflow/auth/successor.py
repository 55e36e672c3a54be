"""Sealing a refresh token's successor under the token itself.

Only digests of refresh tokens are stored, so a second tab presenting a just-used token could
not otherwise be handed the successor the first tab received. The successor is kept XORed with
a pad derived (HMAC-SHA-512) from the presented token's raw value, which only its holders know:
the stored digest does not yield the pad, so a database reader cannot unseal it. Each token
seals exactly one successor, so a pad is never reused. A wrong or tampered seal unseals to a
value whose digest matches no token, which the caller treats as reuse.
"""

from __future__ import annotations

import hashlib
import hmac

_CONTEXT = b"signupflow refresh-token successor"
_PAD_BYTES = hashlib.sha512().digest_size


def _pad(presented: str) -> bytes:
    return hmac.new(presented.encode(), _CONTEXT, hashlib.sha512).digest()


def seal(successor: str, *, under: str) -> str:
    raw = successor.encode()
    if len(raw) > _PAD_BYTES:
        raise ValueError("successor longer than the pad")
    return bytes(a ^ b for a, b in zip(raw, _pad(under), strict=False)).hex()


def unseal(sealed: str, *, under: str) -> str | None:
    try:
        raw = bytes.fromhex(sealed)
        value = bytes(a ^ b for a, b in zip(raw, _pad(under), strict=False)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return value
