"""Vouchers at the counter: the unused ones, using one once, returning expired ones."""

from __future__ import annotations

from datetime import datetime

from core.model import Lot, Redemption
from storage.predicates import VOUCHER_UNUSED
from storage.repositories.lots import lot_from_row
from storage.sql import Query, Row, Sql

_PARTS = {
    "redemption": "id, member_id, reward_id, points, voucher, journal_id, created_at,"
    " valid_until, used_at, used_by, used_store, returned_at",
    "unused": VOUCHER_UNUSED,
}
_UNUSED_OF = Query(
    "SELECT {redemption} FROM redemption WHERE member_id = :member_id AND {unused}"
    " AND valid_until >= :now ORDER BY valid_until, id LIMIT :limit",
    **_PARTS,
)
_BY_CODE = Query("SELECT {redemption} FROM redemption WHERE voucher = :voucher", **_PARTS)
# One statement decides, like the debit: of two tills using the same voucher, one wins.
_USE = Query(
    "UPDATE redemption SET used_at = :now, used_by = :staff, used_store = :store"
    " WHERE voucher = :voucher AND {unused} AND valid_until >= :now",
    **_PARTS,
)
_RETURN = Query(
    "UPDATE redemption SET returned_at = :now WHERE voucher = :voucher AND {unused}"
    " AND valid_until < :now",
    **_PARTS,
)
_EXPIRED_UNUSED = Query(
    "SELECT {redemption} FROM redemption WHERE {unused} AND valid_until < :now"
    " ORDER BY valid_until, id LIMIT :limit",
    **_PARTS,
)
_DRAWN = Query(
    "SELECT l.id, l.member_id, l.amount, l.remaining, l.state, l.earned_at, l.available_at,"
    " l.expires_at, m.amount FROM lot_movement m JOIN lot l ON l.id = m.lot_id"
    " WHERE m.journal_id = :journal_id ORDER BY m.id"
)


class SqlVoucherRepository:
    """`core.ports.VoucherRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def unused(self, member_id: int, now: datetime, limit: int) -> list[Redemption]:
        """The member's vouchers neither used nor expired, soonest expiry first."""
        params = {"member_id": member_id, "now": self._sql.flavor.bind_time(now), "limit": limit}
        return [self._voucher(row) for row in self._sql.all(_UNUSED_OF, params)]

    def by_code(self, voucher: str) -> Redemption | None:
        """The voucher with exactly this code."""
        row = self._sql.one(_BY_CODE, {"voucher": voucher})
        return None if row is None else self._voucher(row)

    def mark_used(self, voucher: str, now: datetime, staff_id: int, store: str | None) -> bool:
        """Use a still valid, unused voucher; False otherwise."""
        params = {
            "voucher": voucher,
            "now": self._sql.flavor.bind_time(now),
            "staff": staff_id,
            "store": store,
        }
        return self._sql.run(_USE, params) == 1

    def mark_returned(self, voucher: str, now: datetime) -> bool:
        """Record that an expired, unused voucher's points went back; False if already."""
        params = {"voucher": voucher, "now": self._sql.flavor.bind_time(now)}
        return self._sql.run(_RETURN, params) == 1

    def expired_unused(self, now: datetime, limit: int) -> list[Redemption]:
        """Vouchers past their validity, neither used nor returned, oldest first."""
        params = {"now": self._sql.flavor.bind_time(now), "limit": limit}
        return [self._voucher(row) for row in self._sql.all(_EXPIRED_UNUSED, params)]

    def drawn_lots(self, journal_id: int) -> list[tuple[Lot, int]]:
        """The lots a journal drew from, with how much it took from each."""
        rows = self._sql.all(_DRAWN, {"journal_id": journal_id})
        return [(lot_from_row(self._sql, row), int(row[8])) for row in rows]

    def _voucher(self, row: Row) -> Redemption:
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
            used_at=None if row[8] is None else read_time(row[8]),
            used_by=row[9],
            used_store=row[10],
            returned=row[11] is not None,
        )
