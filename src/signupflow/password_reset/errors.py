"""Problems of password resets."""

from __future__ import annotations

from signupflow.errors import DomainError


class InvalidResetToken(DomainError):
    status, type, title = 400, "/problems/invalid-reset-token", "Invalid or expired reset link"
