"""Purchases that earned points, and what was refunded of them."""

from __future__ import annotations

from datetime import datetime

from core.model import Purchase
from storage.sql import Query, Sql

_GET = Query(
    "SELECT receipt, member_id, amount_minor, points, lot_id, journal_id, occurred_at,"
    " refunded_minor, refunded_points FROM purchase WHERE receipt = :receipt"
)
_INSERT = Query(
    "INSERT INTO purchase (receipt, member_id, amount_minor, points, lot_id, journal_id,"
    " occurred_at, refunded_minor, refunded_points) VALUES (:receipt, :member_id,"
    " :amount_minor, :points, :lot_id, :journal_id, :occurred_at, :refunded_minor,"
    " :refunded_points)"
)
_REFUND = Query(
    "UPDATE purchase SET refunded_minor = refunded_minor + :amount_minor,"
    " refunded_points = refunded_points + :points WHERE receipt = :receipt"
)
_QUALIFYING = Query(
    "SELECT COALESCE(SUM(amount_minor - refunded_minor), 0),"
    " COALESCE(SUM(points - refunded_points), 0)"
    " FROM purchase WHERE member_id = :member_id AND occurred_at >= :since"
)


class SqlPurchaseRepository:
    """`core.ports.PurchaseRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def get(self, receipt: str) -> Purchase | None:
        """The purchase with this receipt."""
        row = self._sql.one(_GET, {"receipt": receipt})
        if row is None:
            return None
        return Purchase(
            receipt=row[0],
            member_id=row[1],
            amount_minor=int(row[2]),
            points=int(row[3]),
            lot_id=row[4],
            journal_id=row[5],
            occurred_at=self._sql.flavor.read_time(row[6]),
            refunded_minor=int(row[7]),
            refunded_points=int(row[8]),
        )

    def add(self, purchase: Purchase) -> None:
        """Record a purchase; a duplicate receipt raises an IntegrityError the database retries."""
        self._sql.run(
            _INSERT,
            {
                "receipt": purchase.receipt,
                "member_id": purchase.member_id,
                "amount_minor": purchase.amount_minor,
                "points": purchase.points,
                "lot_id": purchase.lot_id,
                "journal_id": purchase.journal_id,
                "occurred_at": self._sql.flavor.bind_time(purchase.occurred_at),
                "refunded_minor": purchase.refunded_minor,
                "refunded_points": purchase.refunded_points,
            },
        )

    def add_refund(self, receipt: str, amount_minor: int, points: int) -> None:
        """Add a refund's money and points to what was refunded of a purchase."""
        params = {"receipt": receipt, "amount_minor": amount_minor, "points": points}
        if not self._sql.run(_REFUND, params):
            raise LookupError(f"no purchase {receipt!r}")

    def qualifying(self, member_id: int, since: datetime) -> tuple[int, int]:
        """Spend (minor units) and purchase points, net of refunds, since a moment."""
        params = {"member_id": member_id, "since": self._sql.flavor.bind_time(since)}
        row = self._sql.one(_QUALIFYING, params)
        assert row is not None  # an aggregate always returns one row
        return int(row[0]), int(row[1])
