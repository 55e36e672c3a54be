"""Access tokens verified once are remembered, never beyond what verifying again would allow:
not past their expiry, not under other keys, not without bound."""

from __future__ import annotations

import time

import jwt
import pytest

from signupflow.auth import tokens
from signupflow.auth.tokens import AccessClaims, decode_access_token, encode_access_token
from signupflow.errors import Unauthenticated

CLAIMS = AccessClaims(user_id=7, organisation_id=3, token_version=1, session_family="family")
KEY, OTHER_KEY = "k" * 32, "o" * 32


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    # exp has whole seconds (the fraction dropped): a 1 s token issued at x.9 lived 0.1 s, too
    # short for a loaded machine to verify it twice. Two seconds leave at least one.
    token = encode_access_token(CLAIMS, secret=KEY, ttl_s=2)
    assert decode_access_token(token, keys=[KEY]) == CLAIMS
    assert decode_access_token(token, keys=[KEY]) == CLAIMS  # from memory
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)  # nothing to await but the clock
    with pytest.raises(Unauthenticated) as refused:
        decode_access_token(token, keys=[KEY])
    assert refused.value.code == "auth.token_expired"


def test_a_remembered_token_is_refused_under_other_keys() -> None:
    token = encode_access_token(CLAIMS, secret=KEY, ttl_s=60)
    assert decode_access_token(token, keys=[KEY]) == CLAIMS
    with pytest.raises(Unauthenticated) as refused:
        decode_access_token(token, keys=[OTHER_KEY])
    assert refused.value.code == "auth.token_invalid"


def test_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_VERIFIED_MAX", 3)
    monkeypatch.setattr(tokens, "_VERIFIED", {})
    issued = [
        encode_access_token(
            AccessClaims(user_id=n, organisation_id=1, token_version=1, session_family="f"),
            secret=KEY,
            ttl_s=60,
        )
        for n in range(1, 6)
    ]
    for token in issued:
        decode_access_token(token, keys=[KEY])
    assert [key[0] for key in tokens._VERIFIED] == issued[-3:]
