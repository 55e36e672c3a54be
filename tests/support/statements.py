"""Record the SQL statements an engine sends to the database, with their parameters, as the
driver receives them (SQLAlchemy's `before_cursor_execute` event): what a request costs in
round trips, and what to EXPLAIN."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any  # the driver's: a tuple (SQLite) or a mapping (psycopg)
    executemany: bool

    @property
    def verb(self) -> str:
        return self.sql.lstrip().split(None, 1)[0].upper() if self.sql.strip() else ""


class StatementLog:
    """The statements sent through one engine while `recording` is active, from any thread
    (TestClient runs the app in its own threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.statements: list[Statement] = []

    def __len__(self) -> int:
        return len(self.statements)

    def _record(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        with self._lock:
            self.statements.append(Statement(statement, parameters, executemany))

    def texts(self) -> set[str]:
        """The statements' texts as sent: an IN list with a placeholder per value makes one
        text per list length."""
        return {_SPACE.sub(" ", s.sql).strip() for s in self.statements}

    def shapes(self) -> Counter[str]:
        """How many times each statement ran, told apart by its text with IN-lists folded
        (a statement repeated once per row stands out with a high count)."""
        return Counter(fold_in_lists(s.sql) for s in self.statements)


_IN_LIST = re.compile(r"IN \((?:[^()]|\([^()]*\))*\)|IN \(__\[POSTCOMPILE_\w+\]\)")
_SPACE = re.compile(r"\s+")


def fold_in_lists(sql: str) -> str:
    return _SPACE.sub(" ", _IN_LIST.sub("IN (…)", sql)).strip()


@contextmanager
def recording(engine: Engine) -> Iterator[StatementLog]:
    """Every statement `engine` executes inside the block."""
    log = StatementLog()
    event.listen(engine, "before_cursor_execute", log._record)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", log._record)
