"""Reward stock and redemptions."""

from __future__ import annotations

from collections.abc import Sequence

from core.model import Redemption
from storage.sql import Query, Row, Sql, in_list

# One statement: create the counter at 1, or add 1 while under stock. On PostgreSQL the
# conflicting row is locked and the WHERE re-checked, so concurrent takers never oversell.
_TAKE = Query(
    "INSERT INTO reward_stock (reward_id, taken) VALUES (:reward_id, 1)"
    " ON CONFLICT (reward_id) DO UPDATE SET taken = reward_stock.taken + 1"
    " WHERE reward_stock.taken < :stock RETURNING taken"
)
_COUNT = Query(
    "SELECT COUNT(*) FROM redemption WHERE member_id = :member_id AND reward_id = :reward_id"
)
_INSERT = Query(
    "INSERT INTO redemption (member_id, reward_id, points, voucher, journal_id, created_at,"
    " valid_until) VALUES (:member_id, :reward_id, :points, :voucher, :journal_id,"
    " :created_at, :valid_until) RETURNING id"
)
_FOR_JOURNAL = Query(
    "SELECT id, member_id, reward_id, points, voucher, journal_id, created_at, valid_until"
    " FROM redemption WHERE journal_id = :journal_id"
)
_REDEEMED_POINTS = Query(
    "SELECT COALESCE(SUM(points), 0) FROM redemption WHERE member_id = :member_id"
)
_STOCK_TAKEN = "SELECT reward_id, taken FROM reward_stock WHERE reward_id IN"


class SqlRewardRepository:
    """`core.ports.RewardRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def take_stock(self, reward_id: str, stock: int) -> bool:
        """Take one unit if fewer than `stock` were taken; False when sold out."""
        if stock <= 0:
            return False
        return self._sql.one(_TAKE, {"reward_id": reward_id, "stock": stock}) is not None

    def count_redemptions(self, member_id: int, reward_id: str) -> int:
        """How many times the member redeemed this reward."""
        row = self._sql.one(_COUNT, {"member_id": member_id, "reward_id": reward_id})
        assert row is not None  # an aggregate always returns one row
        return int(row[0])

    def add_redemption(self, redemption: Redemption) -> int:
        """Record a redemption (its `id` is ignored); the new id."""
        bind_time = self._sql.flavor.bind_time
        row = self._sql.one(
            _INSERT,
            {
                "member_id": redemption.member_id,
                "reward_id": redemption.reward_id,
                "points": redemption.points,
                "voucher": redemption.voucher,
                "journal_id": redemption.journal_id,
                "created_at": bind_time(redemption.created_at),
                "valid_until": bind_time(redemption.valid_until),
            },
        )
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row[0])

    def redemption_for_journal(self, journal_id: int) -> Redemption | None:
        """The redemption a redeem journal created."""
        row = self._sql.one(_FOR_JOURNAL, {"journal_id": journal_id})
        return None if row is None else self._redemption(row)

    def redeemed_points(self, member_id: int) -> int:
        """Points the member spent on rewards, all time."""
        row = self._sql.one(_REDEEMED_POINTS, {"member_id": member_id})
        assert row is not None  # an aggregate always returns one row
        return int(row[0])

    def stock_taken(self, reward_ids: Sequence[str]) -> dict[str, int]:
        """Units taken so far of each reward (0 for one never taken)."""
        taken = dict.fromkeys(reward_ids, 0)
        if taken:
            sql = in_list(self._sql.flavor, _STOCK_TAKEN, len(taken))
            taken.update(self._sql.all_text(sql, list(taken)))
        return taken

    def _redemption(self, row: Row) -> Redemption:
        read_time = self._sql.flavor.read_time
        return Redemption(
            id=row[0],
            member_id=row[1],
            reward_id=row[2],
            points=int(row[3]),
            voucher=row[4],
            journal_id=row[5],
            created_at=read_time(row[6]),
            valid_until=read_time(row[7]),
        )
