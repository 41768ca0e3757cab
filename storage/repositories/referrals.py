"""Referrals: who invited whom, what it earned, and each referrer's rewarded count per month."""

from __future__ import annotations

from core.gamification_model import Referral, ReferralStats, ReferralStatus
from storage.sql import Query, Row, Sql

_COLUMNS = (
    "friend_id, referrer_id, joined_at, status, attempts, receipt, purchased_at, month,"
    " referrer_journal_id, referrer_lot_id, referrer_points, friend_journal_id, friend_lot_id,"
    " friend_points, reason"
)
_VALUES = (
    ":friend_id, :referrer_id, :joined_at, :status, :attempts, :receipt, :purchased_at, :month,"
    " :referrer_journal_id, :referrer_lot_id, :referrer_points, :friend_journal_id,"
    " :friend_lot_id, :friend_points, :reason"
)
_ADD = Query(
    "INSERT INTO referral ({columns}) VALUES ({values}) ON CONFLICT (friend_id) DO NOTHING",
    columns=_COLUMNS,
    values=_VALUES,
)
_UPDATE = Query(
    "UPDATE referral SET status = :status, attempts = :attempts, receipt = :receipt,"
    " purchased_at = :purchased_at, month = :month, referrer_journal_id = :referrer_journal_id,"
    " referrer_lot_id = :referrer_lot_id, referrer_points = :referrer_points,"
    " friend_journal_id = :friend_journal_id, friend_lot_id = :friend_lot_id,"
    " friend_points = :friend_points, reason = :reason WHERE friend_id = :friend_id"
)
_PENDING = Query(
    "SELECT {columns} FROM referral WHERE friend_id = :friend_id AND status = 'pending'",
    columns=_COLUMNS,
)
_BY_RECEIPT = Query("SELECT {columns} FROM referral WHERE receipt = :receipt", columns=_COLUMNS)
# One conditional upsert, like the recognition allowance: the row stays locked until commit,
# so two friends' first purchases at once cannot both pass the cap.
_CLAIM = Query(
    "INSERT INTO referral_month (referrer_id, month, rewarded) VALUES (:referrer_id, :month, 1)"
    " ON CONFLICT (referrer_id, month) DO UPDATE SET rewarded = referral_month.rewarded + 1"
    " WHERE referral_month.rewarded < :cap RETURNING rewarded"
)
_RELEASE = Query(
    "UPDATE referral_month SET rewarded = rewarded - 1"
    " WHERE referrer_id = :referrer_id AND month = :month AND rewarded > 0"
)
_STATS = Query(
    "SELECT status, COUNT(*), COALESCE(SUM(referrer_points), 0) FROM referral"
    " WHERE referrer_id = :referrer_id GROUP BY status"
)


class SqlReferralRepository:
    """`core.ports.ReferralRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, referral: Referral) -> None:
        """Record a friend's referral (once per friend)."""
        self._sql.run(_ADD, self._params(referral))

    def update(self, referral: Referral) -> None:
        """Store where a referral stands now."""
        self._sql.run(_UPDATE, self._params(referral))

    def pending_for(self, friend_id: int) -> Referral | None:
        """The friend's referral still waiting for a qualifying purchase."""
        return self._referral(self._sql.one(_PENDING, {"friend_id": friend_id}))

    def by_receipt(self, receipt: str) -> Referral | None:
        """The referral that this purchase rewarded."""
        return self._referral(self._sql.one(_BY_RECEIPT, {"receipt": receipt}))

    def claim_month(self, referrer_id: int, month: str, cap: int) -> bool:
        """Count a rewarded referral unless the referrer reached `cap` this month."""
        params = {"referrer_id": referrer_id, "month": month, "cap": cap}
        return self._sql.one(_CLAIM, params) is not None

    def release_month(self, referrer_id: int, month: str) -> None:
        """Uncount a rewarded referral (its purchase was refunded)."""
        self._sql.run(_RELEASE, {"referrer_id": referrer_id, "month": month})

    def stats(self, referrer_id: int) -> ReferralStats:
        """How a member's invitations went (refused ones are not shown)."""
        counts = {
            row[0]: (int(row[1]), int(row[2]))
            for row in self._sql.all(_STATS, {"referrer_id": referrer_id})
        }
        rewarded, points = counts.get(ReferralStatus.REWARDED.value, (0, 0))
        pending, _ = counts.get(ReferralStatus.PENDING.value, (0, 0))
        return ReferralStats(
            joined=rewarded + pending, rewarded=rewarded, pending=pending, points=points
        )

    def _params(self, r: Referral) -> dict[str, object]:
        bind = self._sql.flavor.bind_time
        return {
            "friend_id": r.friend_id,
            "referrer_id": r.referrer_id,
            "joined_at": bind(r.joined_at),
            "status": r.status.value,
            "attempts": r.attempts,
            "receipt": r.receipt,
            "purchased_at": bind(r.purchased_at) if r.purchased_at else None,
            "month": r.month,
            "referrer_journal_id": r.referrer_journal_id,
            "referrer_lot_id": r.referrer_lot_id,
            "referrer_points": r.referrer_points,
            "friend_journal_id": r.friend_journal_id,
            "friend_lot_id": r.friend_lot_id,
            "friend_points": r.friend_points,
            "reason": r.reason,
        }

    def _referral(self, row: Row | None) -> Referral | None:
        if row is None:
            return None
        read = self._sql.flavor.read_time
        return Referral(
            friend_id=row[0],
            referrer_id=row[1],
            joined_at=read(row[2]),
            status=ReferralStatus(row[3]),
            attempts=int(row[4]),
            receipt=row[5],
            purchased_at=read(row[6]) if row[6] is not None else None,
            month=row[7],
            referrer_journal_id=row[8],
            referrer_lot_id=row[9],
            referrer_points=int(row[10]),
            friend_journal_id=row[11],
            friend_lot_id=row[12],
            friend_points=int(row[13]),
            reason=row[14],
        )
