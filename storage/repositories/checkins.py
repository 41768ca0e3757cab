"""Check-ins: one per member, store and the store's local day."""

from __future__ import annotations

from datetime import date, datetime

from storage.sql import Query, Sql

_ADD = Query(
    "INSERT INTO checkin (member_id, store_id, day, checked_in_at)"
    " VALUES (:member_id, :store_id, :day, :at) ON CONFLICT (member_id, store_id, day) DO NOTHING"
)


class SqlCheckinRepository:
    """`core.ports.CheckinRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, member_id: int, store_id: str, day: date, now: datetime) -> bool:
        """Record a check-in; False when the member checked in there that day already."""
        flavor = self._sql.flavor
        params = {
            "member_id": member_id,
            "store_id": store_id,
            "day": flavor.bind_day(day),
            "at": flavor.bind_time(now),
        }
        return self._sql.run(_ADD, params) == 1
