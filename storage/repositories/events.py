"""Inbound update and event ids, so a redelivered webhook is handled once."""

from __future__ import annotations

from datetime import datetime

from storage.sql import Query, Sql

# ON CONFLICT instead of catching the unique violation: on PostgreSQL an error would abort
# the whole transaction.
_CLAIM = Query(
    "INSERT INTO inbound_event (key, received_at) VALUES (:key, :received_at)"
    " ON CONFLICT (key) DO NOTHING"
)


class SqlInboundEventRepository:
    """`core.ports.InboundEventRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def claim(self, key: str, now: datetime) -> bool:
        """Record an inbound id; False if it was seen before."""
        params = {"key": key, "received_at": self._sql.flavor.bind_time(now)}
        return self._sql.run(_CLAIM, params) == 1
