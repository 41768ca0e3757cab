"""Purchases that earned points, what was refunded of them, and each member's daily totals."""

from __future__ import annotations

from datetime import date, datetime

from core.model import Purchase
from storage.sql import Query, Sql
from storage.types import require_aware

_GET = Query(
    "SELECT receipt, member_id, amount_minor, points, lot_id, journal_id, occurred_at,"
    " refunded_minor, refunded_points, store, channel FROM purchase WHERE receipt = :receipt"
)
_INSERT = Query(
    "INSERT INTO purchase (receipt, member_id, amount_minor, points, lot_id, journal_id,"
    " occurred_at, refunded_minor, refunded_points, store, channel) VALUES (:receipt,"
    " :member_id, :amount_minor, :points, :lot_id, :journal_id, :occurred_at, :refunded_minor,"
    " :refunded_points, :store, :channel)"
)
_REFUND = Query(
    "UPDATE purchase SET refunded_minor = refunded_minor + :amount_minor,"
    " refunded_points = refunded_points + :points WHERE receipt = :receipt"
    " RETURNING member_id, occurred_at"
)
# One row per member and UTC day: net spend and points of the purchases made that day.
# A refund is booked (negatively) on the day of the purchase it refunds.
_ADD_DAY = Query(
    "INSERT INTO purchase_day (member_id, day, spend_minor, points)"
    " VALUES (:member_id, :day, :spend_minor, :points)"
    " ON CONFLICT (member_id, day) DO UPDATE SET"
    " spend_minor = purchase_day.spend_minor + excluded.spend_minor,"
    " points = purchase_day.points + excluded.points"
)
# At most ~366 rows, read along the primary key (member_id, day).
_QUALIFYING = Query(
    "SELECT COALESCE(SUM(spend_minor), 0), COALESCE(SUM(points), 0)"
    " FROM purchase_day WHERE member_id = :member_id AND day >= :since_day"
)
_QUALIFYING_UNTIL = Query(
    "SELECT COALESCE(SUM(spend_minor), 0), COALESCE(SUM(points), 0) FROM purchase_day"
    " WHERE member_id = :member_id AND day >= :since_day AND day <= :until_day"
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
            store=row[9],
            channel=row[10],
        )

    def add(self, purchase: Purchase) -> None:
        """Record a purchase and add it to its day's totals.

        A duplicate receipt raises an IntegrityError (which the database retries) before the
        daily totals are touched.
        """
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
                "store": purchase.store,
                "channel": purchase.channel,
            },
        )
        self._add_to_day(
            purchase.member_id,
            _utc_day(purchase.occurred_at),
            purchase.amount_minor - purchase.refunded_minor,
            purchase.points - purchase.refunded_points,
        )

    def add_refund(self, receipt: str, amount_minor: int, points: int) -> None:
        """Add a refund's money and points to what was refunded of a purchase.

        The refund comes off the daily totals of the day the purchase was made (not the day
        of the refund), so a purchase and its refunds leave or stay in the window together.
        """
        params = {"receipt": receipt, "amount_minor": amount_minor, "points": points}
        row = self._sql.one(_REFUND, params)
        if row is None:
            raise LookupError(f"no purchase {receipt!r}")
        occurred_at = self._sql.flavor.read_time(row[1])
        self._add_to_day(int(row[0]), _utc_day(occurred_at), -amount_minor, -points)

    def qualifying(
        self, member_id: int, since: datetime, until: datetime | None = None
    ) -> tuple[int, int]:
        """Spend (minor units) and purchase points, net of refunds, since a moment's UTC day.

        Day-granular: the totals are kept per member and UTC calendar day, so every purchase
        made on the UTC day `since` falls on counts, including those earlier that day. This
        reads at most one row per day of the window, however many purchases the member made.
        """
        params = {"member_id": member_id, "since_day": self._bind_day(_utc_day(since))}
        if until is None:
            row = self._sql.one(_QUALIFYING, params)
        else:  # a purchase dated in the past: what qualified by its own day
            params["until_day"] = self._bind_day(_utc_day(until))
            row = self._sql.one(_QUALIFYING_UNTIL, params)
        assert row is not None  # an aggregate always returns one row
        return int(row[0]), int(row[1])

    def _add_to_day(self, member_id: int, day: date, spend_minor: int, points: int) -> None:
        params = {
            "member_id": member_id,
            "day": self._bind_day(day),
            "spend_minor": spend_minor,
            "points": points,
        }
        self._sql.run(_ADD_DAY, params)

    def _bind_day(self, day: date) -> date | str:
        # SQLite keeps dates as ISO text (as SQLAlchemy's Date does); psycopg binds a date.
        return day.isoformat() if self._sql.flavor.name == "sqlite" else day


def _utc_day(moment: datetime) -> date:
    """The UTC calendar day of an aware datetime."""
    return require_aware(moment).date()
