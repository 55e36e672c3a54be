"""Problems of logins and sessions."""

from __future__ import annotations

from signupflow.errors import Unauthenticated


class RefreshTokenReused(Unauthenticated):
    # The revocation must survive the error response that follows.
    keeps_changes = True

    def __init__(self) -> None:
        super().__init__(
            "refresh token reuse detected; the session was revoked", code="auth.refresh_reused"
        )
