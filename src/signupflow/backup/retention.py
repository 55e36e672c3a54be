"""Which backups to delete: older than the retention period, but never one of the newest few."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def expired(
    created: Iterable[tuple[str, datetime]], *, now: datetime, max_age_days: int, keep_last: int
) -> list[str]:
    """Names of backups created more than `max_age_days` before `now`, except the `keep_last`
    newest (so a host whose backups stopped weeks ago still keeps its last good ones)."""
    newest_first = sorted(created, key=lambda item: (item[1], item[0]), reverse=True)
    cutoff = now - timedelta(days=max_age_days)
    return sorted(name for name, when in newest_first[keep_last:] if when < cutoff)
