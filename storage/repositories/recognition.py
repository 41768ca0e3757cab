"""Recognition: monthly giving allowances and the gifts made from them."""

from __future__ import annotations

import json
from datetime import datetime

from core.model import Gift
from storage.sql import Query, Row, Sql

# One conditional upsert, like the debit: the counter row stays locked until commit, which
# serialises a giver's concurrent gifts.
_SPEND = Query(
    "INSERT INTO allowance (member_id, period, spent) VALUES (:member_id, :period, :points)"
    " ON CONFLICT (member_id, period) DO UPDATE SET spent = allowance.spent + :points"
    " WHERE allowance.spent + :points <= :allowance RETURNING spent"
)
_RESTORE = Query(
    "UPDATE allowance SET spent = CASE WHEN spent > :points THEN spent - :points ELSE 0 END"
    " WHERE member_id = :member_id AND period = :period"
)
_SPENT = Query("SELECT spent FROM allowance WHERE member_id = :member_id AND period = :period")
_PAIR_GIVEN = Query(
    "SELECT COALESCE(SUM(points), 0) FROM gift WHERE giver_id = :giver_id"
    " AND receiver_id = :receiver_id AND day = :day AND revoked = :no"
)
_INSERT = Query(
    "INSERT INTO gift (key, journal_id, giver_id, receiver_id, points, value_tags, reason,"
    " period, day, lot_id, given_at, revoked, channel, channel_name) VALUES (:key, :journal_id,"
    " :giver_id, :receiver_id, :points, :value_tags, :reason, :period, :day, :lot_id,"
    " :given_at, :revoked, :channel, :channel_name)"
)
_GET = Query(
    "SELECT key, journal_id, giver_id, receiver_id, points, value_tags, reason, period, day,"
    " lot_id, given_at, revoked, channel, channel_name FROM gift WHERE key = :key"
)
_REVOKE = Query("UPDATE gift SET revoked = :yes WHERE key = :key AND revoked = :no")
# Members who opted out of leaderboards (`/settings leaderboard off`) are left out here too.
_TOP = Query(
    "SELECT receiver_id, SUM(points) FROM gift WHERE given_at >= :since AND revoked = :no"
    " AND NOT EXISTS (SELECT 1 FROM leaderboard_opt_out o WHERE o.member_id = gift.receiver_id)"
    " GROUP BY receiver_id ORDER BY SUM(points) DESC, receiver_id LIMIT :limit"
)

_RECENT = Query(
    "SELECT key, journal_id, giver_id, receiver_id, points, value_tags, reason, period, day,"
    " lot_id, given_at, revoked, channel, channel_name FROM gift"
    " WHERE (giver_id = :member_id OR receiver_id = :member_id) AND revoked = :no"
    " ORDER BY journal_id DESC LIMIT :limit"
)


class SqlRecognitionRepository:
    """`core.ports.RecognitionRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def spend_allowance(self, member_id: int, period: str, points: int, allowance: int) -> bool:
        """Add `points` to what the member gave in `period`; False when over `allowance`."""
        if not 0 < points <= allowance:
            return False
        params = {"member_id": member_id, "period": period, "points": points}
        return self._sql.one(_SPEND, {**params, "allowance": allowance}) is not None

    def restore_allowance(self, member_id: int, period: str, points: int) -> None:
        """Give back points of a revoked gift to the giver's allowance (never below zero)."""
        self._sql.run(_RESTORE, {"member_id": member_id, "period": period, "points": points})

    def allowance_spent(self, member_id: int, period: str) -> int:
        """What the member gave in `period`."""
        row = self._sql.one(_SPENT, {"member_id": member_id, "period": period})
        return 0 if row is None else int(row[0])

    def pair_given(self, giver_id: int, receiver_id: int, day: str) -> int:
        """Points the giver gave the receiver on `day` (revoked gifts excluded)."""
        params = {"giver_id": giver_id, "receiver_id": receiver_id, "day": day, "no": False}
        row = self._sql.one(_PAIR_GIVEN, params)
        assert row is not None  # an aggregate always returns one row
        return int(row[0])

    def add_gift(self, gift: Gift) -> None:
        """Record a gift."""
        self._sql.run(
            _INSERT,
            {
                "key": gift.key,
                "journal_id": gift.journal_id,
                "giver_id": gift.giver_id,
                "receiver_id": gift.receiver_id,
                "points": gift.points,
                "value_tags": json.dumps(list(gift.values), ensure_ascii=False),
                "reason": gift.reason,
                "period": gift.period,
                "day": gift.day,
                "lot_id": gift.lot_id,
                "given_at": self._sql.flavor.bind_time(gift.given_at),
                "revoked": gift.revoked,
                "channel": gift.channel,
                "channel_name": gift.channel_name,
            },
        )

    def gift(self, key: str) -> Gift | None:
        """The gift recorded under `key`."""
        row = self._sql.one(_GET, {"key": key})
        return None if row is None else self._gift(row)

    def mark_revoked(self, key: str) -> bool:
        """Mark a gift revoked; False when it already was (or does not exist)."""
        return self._sql.run(_REVOKE, {"key": key, "yes": True, "no": False}) == 1

    def top_receivers(self, since: datetime, limit: int) -> list[tuple[int, int]]:
        """(member id, points received) since a moment, most first."""
        params = {"since": self._sql.flavor.bind_time(since), "no": False, "limit": limit}
        return [(int(r[0]), int(r[1])) for r in self._sql.all(_TOP, params)]

    def recent_gifts(self, member_id: int, limit: int) -> list[Gift]:
        """Gifts the member gave or received (revoked ones left out), newest first."""
        params = {"member_id": member_id, "no": False, "limit": limit}
        return [self._gift(row) for row in self._sql.all(_RECENT, params)]

    def _gift(self, row: Row) -> Gift:
        return Gift(
            key=row[0],
            journal_id=row[1],
            giver_id=row[2],
            receiver_id=row[3],
            points=int(row[4]),
            values=tuple(json.loads(row[5])),
            reason=row[6],
            period=row[7],
            day=row[8],
            lot_id=row[9],
            given_at=self._sql.flavor.read_time(row[10]),
            revoked=bool(row[11]),
            channel=row[12],
            channel_name=row[13],
        )
