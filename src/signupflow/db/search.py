"""Searching text columns for what a user typed."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import InstrumentedAttribute


def contains_text(column: InstrumentedAttribute[str], text: str) -> ColumnElement[bool]:
    """Case-insensitive "contains" that reads `text` literally: LIKE's wildcards % and _ in it
    match only themselves. The escape character is spelled out (autoescape: ESCAPE '/'), since
    PostgreSQL would otherwise read a backslash as one and SQLite would not."""
    return func.lower(column).contains(text.lower(), autoescape=True)
