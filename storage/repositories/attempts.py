"""Wrong guesses per (kind of code, person) in a window: one conditional upsert per guess."""

from __future__ import annotations

from datetime import datetime

from storage.sql import Query, Sql

# Both sides of each CASE read the row as it was, so a window that is over starts again at 1.
# The upsert takes the row's lock: concurrent guesses by the same person count one by one.
_SPEND = Query(
    "INSERT INTO attempt (kind, subject, window_start, wrong)"
    " VALUES (:kind, :subject, :now, 1)"
    " ON CONFLICT (kind, subject) DO UPDATE SET"
    " wrong = CASE WHEN attempt.window_start <= :window_start THEN 1"
    " ELSE attempt.wrong + 1 END,"
    " window_start = CASE WHEN attempt.window_start <= :window_start THEN :now"
    " ELSE attempt.window_start END"
    " RETURNING wrong, window_start"
)
_REFUND = Query(
    "UPDATE attempt SET wrong = wrong - 1 WHERE kind = :kind AND subject = :subject AND wrong > 0"
)


class SqlAttemptRepository:
    """`core.ports.AttemptRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def spend(
        self, kind: str, subject: str, now: datetime, window_start: datetime
    ) -> tuple[int, datetime]:
        """Count one guess; the guesses in the current window and when that window began."""
        bind = self._sql.flavor.bind_time
        params = {
            "kind": kind,
            "subject": subject,
            "now": bind(now),
            "window_start": bind(window_start),
        }
        row = self._sql.one(_SPEND, params)
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row[0]), self._sql.flavor.read_time(row[1])

    def refund(self, kind: str, subject: str) -> None:
        """Take back the guess just counted."""
        self._sql.run(_REFUND, {"kind": kind, "subject": subject})
