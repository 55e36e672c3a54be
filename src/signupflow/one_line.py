"""One-line text (names, titles, places, roles, notes): the characters it may not hold,
refused by the API and the CSV import, and folded into spaces where text stored before the
rule meets an e-mail header."""

from __future__ import annotations

import re

# C0 controls (TAB, LF and CR among them), DEL, C1 controls (NEL among them) and the Unicode
# line and paragraph separators: each breaks a line where the text is shown, or is invisible
# there; an e-mail header refuses CR and LF outright, so one in a name used to stop that
# person's mail for good. Format characters (zero-width joiners, direction marks) stay
# allowed: scripts and emoji need them. Written with escapes so the published JSON Schema
# pattern reads the same in Python, ECMAScript and Rust regular expressions.
_CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
PATTERN = rf"^[^{_CONTROL}]*$"
MESSAGE = "must be one line, without line breaks, tabs or other control characters"
_CONTROL_RUN = re.compile(rf"[{_CONTROL}]+")


def is_one_line(text: str) -> bool:
    return _CONTROL_RUN.search(text) is None


def fold(text: str) -> str:
    """The text with each run of control characters made one space: for text that was stored
    before the rule (or came from elsewhere) on its way into a one-line place."""
    return _CONTROL_RUN.sub(" ", text).strip()
