"""Swap problems: each bad transition has its own type, so clients can explain it."""

from __future__ import annotations

from signupflow.errors import DomainError


class SwapNotOpen(DomainError):
    status, type, title = 409, "/problems/swap-not-open", "This swap offer is not open"


class SwapNotAwaitingApproval(DomainError):
    status, type, title = 409, "/problems/swap-not-awaiting-approval", "Nothing to approve"


class SwapClosed(DomainError):
    status, type, title = 409, "/problems/swap-closed", "This swap is already closed"


class SwapAlreadyOffered(DomainError):
    status, type, title = 409, "/problems/swap-already-offered", "Assignment already offered"


class SwapReserved(DomainError):
    status, type, title = 409, "/problems/swap-reserved", "Offered to someone else"


class OwnSwap(DomainError):
    status, type, title = 409, "/problems/own-swap", "You cannot take your own offer"


class NotQualified(DomainError):
    status, type, title = 409, "/problems/not-qualified", "Not qualified for this role"


class ScheduleClash(DomainError):
    status, type, title = 409, "/problems/schedule-clash", "Overlaps another assignment"
