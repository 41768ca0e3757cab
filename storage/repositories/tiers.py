"""Each member's stored tier (by stable tier id) and the window that keeps it."""

from __future__ import annotations

from datetime import datetime

from core.gamification_model import TierKeep, TierStatus
from storage.sql import Query, Sql

_GET = Query(
    "SELECT tier_id, since, until, counts_from, previous_tier_id, previous_until"
    " FROM member_tier WHERE member_id = :member_id"
)
_PUT = Query(
    "INSERT INTO member_tier (member_id, tier_id, since, until, counts_from, previous_tier_id,"
    " previous_until) VALUES (:member_id, :tier_id, :since, :until, :counts_from,"
    " :previous_tier_id, :previous_until) ON CONFLICT (member_id) DO UPDATE SET"
    " tier_id = excluded.tier_id, since = excluded.since, until = excluded.until,"
    " counts_from = excluded.counts_from, previous_tier_id = excluded.previous_tier_id,"
    " previous_until = excluded.previous_until"
)
# Along the partial index on `until`: only members above the base tier have one.
_DUE = Query(
    "SELECT member_id FROM member_tier WHERE until IS NOT NULL AND until <= :now"
    " ORDER BY until, member_id LIMIT :limit"
)
# For nudge planners: what counted so far in each window closing between the two instants
# (purchase_day is kept per UTC day, so a window counts from its first UTC day; SQLite keeps
# naive UTC text, PostgreSQL a timestamptz).
_KEEP = (
    "SELECT t.member_id, t.tier_id, t.until, COALESCE(SUM(d.spend_minor), 0),"
    " COALESCE(SUM(d.points), 0) FROM member_tier t"
    " LEFT JOIN purchase_day d ON d.member_id = t.member_id AND d.day >= {day}"
    " WHERE t.until IS NOT NULL AND t.until > :until_from AND t.until <= :until_to"
    " GROUP BY t.member_id, t.tier_id, t.until ORDER BY t.until, t.member_id"
)
TIERS_TO_KEEP = Query(
    _KEEP.format(day="date(t.counts_from)"),
    postgresql=_KEEP.format(day="CAST(t.counts_from AT TIME ZONE 'UTC' AS DATE)"),
)


class SqlTierRepository:
    """`core.ports.TierRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def get(self, member_id: int) -> TierStatus | None:
        """The member's stored tier, if any."""
        row = self._sql.one(_GET, {"member_id": member_id})
        if row is None:
            return None
        time = self._time
        return TierStatus(
            tier_id=row[0],
            since=self._sql.flavor.read_time(row[1]),
            until=time(row[2]),
            counts_from=time(row[3]),
            previous_tier_id=row[4],
            previous_until=time(row[5]),
        )

    def put(self, member_id: int, status: TierStatus) -> None:
        """Store the member's tier."""
        bind = self._bind
        self._sql.run(
            _PUT,
            {
                "member_id": member_id,
                "tier_id": status.tier_id,
                "since": bind(status.since),
                "until": bind(status.until),
                "counts_from": bind(status.counts_from),
                "previous_tier_id": status.previous_tier_id,
                "previous_until": bind(status.previous_until),
            },
        )

    def due(self, now: datetime, limit: int) -> list[int]:
        """Members whose tier window ended by `now`."""
        params = {"now": self._sql.flavor.bind_time(now), "limit": limit}
        return [int(row[0]) for row in self._sql.all(_DUE, params)]

    def keep_due(self, until_from: datetime, until_to: datetime) -> list[TierKeep]:
        """Members whose tier window ends between the two instants, with what counted so far."""
        bind = self._sql.flavor.bind_time
        rows = self._sql.all(
            TIERS_TO_KEEP, {"until_from": bind(until_from), "until_to": bind(until_to)}
        )
        read_time = self._sql.flavor.read_time
        return [
            TierKeep(
                member_id=row[0],
                tier_id=row[1],
                until=read_time(row[2]),
                spend_minor=int(row[3]),
                points=int(row[4]),
            )
            for row in rows
        ]

    def _bind(self, value: datetime | None) -> object:
        return self._sql.flavor.bind_time(value) if value is not None else None

    def _time(self, value: object) -> datetime | None:
        return self._sql.flavor.read_time(value) if value is not None else None
