"""Reading libpq's own protocol trace (`pgconn.trace(fd)`): what a connection really sent."""

from __future__ import annotations

from pathlib import Path


def sent_messages(trace: Path) -> list[tuple[str, str]]:
    """Each message the client sent (direction F), in order: its type (`Query`, `Parse`, ...)
    and the last field of its line (a simple query's quoted text)."""
    messages = []
    for line in trace.read_text().splitlines():
        fields = line.split("\t")
        if fields[1:2] == ["F"]:
            messages.append((fields[3], fields[-1].strip()))
    return messages
