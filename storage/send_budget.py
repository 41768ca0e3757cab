"""One send budget per bot token, kept in the database so every worker draws on the same one.

The budget is the time of the next free send slot (seconds since the epoch). Booking `count`
slots moves it on by `count` gaps from whichever is later, itself or now, in one statement:
the row lock orders bookings from every worker, so two never get the same slot, and the slots
of all workers together are never closer than the gap (a generic cell rate algorithm with no
burst). A worker books a few slots at a time, so the database sees one statement per block.
"""

from __future__ import annotations

from storage.database import SqlDatabase
from storage.sql import Query, Sql

_RESERVE_SQL = (
    "INSERT INTO send_budget (name, next_at) VALUES (:name, :now + :span)"
    " ON CONFLICT (name) DO UPDATE SET next_at = {later}(send_budget.next_at, :now) + :span"
    " RETURNING next_at"
)
_RESERVE = Query(_RESERVE_SQL.format(later="MAX"), postgresql=_RESERVE_SQL.format(later="GREATEST"))
_PAUSE_SQL = (
    "INSERT INTO send_budget (name, next_at) VALUES (:name, :until)"
    " ON CONFLICT (name) DO UPDATE SET next_at = {later}(send_budget.next_at, :until)"
)
_PAUSE = Query(_PAUSE_SQL.format(later="MAX"), postgresql=_PAUSE_SQL.format(later="GREATEST"))


class SqlSendBudget:
    """`bot.outbox.pacer.SendBudget` in the `send_budget` table, under one name per token."""

    def __init__(self, database: SqlDatabase, name: str) -> None:
        self._database = database
        self.name = name

    def reserve(self, count: int, gap: float, now: float) -> float:
        """Book `count` consecutive slots `gap` seconds apart, none before `now`; the time of
        the first one."""
        span = count * gap
        params = {"name": self.name, "now": now, "span": span}

        def book(sql: Sql) -> float:
            row = sql.one(_RESERVE, params)
            assert row is not None  # an upsert with RETURNING always returns its row
            return float(row[0])

        return self._database.run_sql(book) - span

    def pause(self, until: float) -> None:
        """No slot before `until`, for any worker (the platform said to wait)."""
        params = {"name": self.name, "until": until}
        self._database.run_sql(lambda sql: sql.run(_PAUSE, params))
