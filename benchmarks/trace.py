"""Counting the SQL statements a journal issues on SQLite, to prove like is compared with like."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import ConnectionPoolEntry


@dataclass
class StatementLog:
    """Statements seen while `active`; attach with `attach_engine` or `attach_connection`."""

    active: bool = False
    statements: list[str] = field(default_factory=list)

    def __call__(self, statement: str) -> None:
        if self.active:
            self.statements.append(statement)

    def attach_connection(self, conn: Any) -> None:
        """Trace a sqlite3 connection (the hand-written baselines)."""
        conn.set_trace_callback(self)

    def attach_engine(self, engine: Engine) -> None:
        """Trace every sqlite3 connection the engine's pool opens from now on."""

        def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.set_trace_callback(self)

        event.listen(engine, "connect", on_connect)

    def shapes(self) -> list[str]:
        """Each statement reduced to its verb and table, e.g. 'INSERT posting'."""
        return [_shape(s) for s in self.statements]


def _shape(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper() if words else ""
    upper = [w.upper() for w in words]
    for marker in ("FROM", "INTO", "UPDATE"):
        if marker in upper:
            i = upper.index(marker)
            if i + 1 < len(words):
                return f"{verb} {words[i + 1]}"
    return " ".join(words[:2]).upper()
