"""The report's aggregates (`core.report_figures.ReportReader`): grouped, set-based statements.

Each method is one or two statements whatever the number of members or journals; the indexes
they lean on are named beside them (migration 0011 adds the two on journal and purchase times).
`SqlReports.read` runs a whole report in one read transaction, a snapshot on PostgreSQL
(REPEATABLE READ), so its sections agree with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from core.lift import GroupSums
from core.report_figures import (
    BroadcastCount,
    ChallengeCount,
    ChannelGifts,
    Flow,
    MemberCounts,
    OutboxCount,
    Recognition,
    ReferralCounts,
    ReportReader,
    RewardCount,
    Savings,
    Spending,
    ValueCount,
    Vouchers,
)
from core.report_period import local_midnights
from storage.broadcast_store import _LIFT, _group, lift_params
from storage.flow_cache import cached_flows
from storage.predicates import AVAILABLE_OPEN
from storage.sql import Query, Sql

T = TypeVar("T")

# Member points now: the cached balances (three accounts per member; a sequential read).
_LIABILITY = Query(
    "SELECT purpose, COALESCE(SUM(balance), 0) FROM account"
    " WHERE member_id IS NOT NULL AND purpose IN ('available', 'pending') GROUP BY purpose"
)
# Journals in the range through ix_journal_effective_at, their postings through
# ix_posting_journal_id (or, over most of the history, a parallel hash join of both). SQLite
# groups by UTC hour (it has no time zones); PostgreSQL by the program's local day, 24 times
# fewer groups: each journal's day is its bucket among the period's local midnights (`:days`,
# `core.report_period.local_midnights`), joined to them by number. Grouping by an expression of
# `effective_at` instead made the planner expect a group per row (it knows the column's distinct
# values, not the expression's): a serial plan that aggregates two million rows in one process
# (measured: 2.3x the time of this form over the whole history of the benchmark's ledger).
_FLOWS = Query(
    "SELECT substr(j.effective_at, 1, 13), j.kind, a.purpose, SUM(p.amount)"
    " FROM journal j JOIN posting p ON p.journal_id = j.id JOIN account a ON a.id = p.account_id"
    " WHERE j.effective_at >= :start AND j.effective_at < :end"
    " GROUP BY substr(j.effective_at, 1, 13), j.kind, a.purpose",
    postgresql="SELECT d.midnight, j.kind, a.purpose, SUM(p.amount)"
    " FROM journal j JOIN posting p ON p.journal_id = j.id JOIN account a ON a.id = p.account_id"
    " JOIN unnest(CAST(:days AS timestamptz[])) WITH ORDINALITY d(midnight, n)"
    " ON d.n = width_bucket(j.effective_at, CAST(:days AS timestamptz[]))"
    " WHERE j.effective_at >= :start AND j.effective_at < :end GROUP BY 1, 2, 3",
)


# Open available lots due up to the furthest horizon, read once and summed up to each horizon
# (a statement per horizon read the same lots three times). The partial index ix_lot_expiry_due
# (expires_at, id) serves short horizons; when a fifth of all lots fall due within the 90 days
# (the benchmark's ledger), PostgreSQL rightly prefers a sequential scan.
@cache
def _expiring(horizons: int) -> Query:
    sums = ", ".join(
        f"COALESCE(SUM(CASE WHEN expires_at <= :until_{n} THEN remaining ELSE 0 END), 0)"
        for n in range(horizons)
    )
    return Query(
        "SELECT {sums} FROM lot WHERE {open} AND expires_at > :now AND expires_at <= :last",
        sums=sums,
        open=AVAILABLE_OPEN,
    )


_TOP_REWARDS = Query(
    "SELECT reward_id, COUNT(*), SUM(points) FROM redemption"
    " WHERE created_at >= :start AND created_at < :end"
    " GROUP BY reward_id ORDER BY COUNT(*) DESC, SUM(points) DESC, reward_id LIMIT :limit"
)
_VOUCHERS = Query(
    "SELECT"
    " (SELECT COUNT(*) FROM redemption WHERE created_at >= :start AND created_at < :end),"
    " (SELECT COUNT(*) FROM redemption WHERE used_at >= :start AND used_at < :end),"
    " (SELECT COUNT(*) FROM redemption WHERE returned_at >= :start AND returned_at < :end)"
)
# Active: a purchase (ix_purchase_occurred_at) or a check-in in the period; merged members'
# rows moved with them, so ids are current. Each side is grouped before the UNION so that
# PostgreSQL can group the purchases in parallel (about a fifth faster over a long history).
_MEMBERS = Query(
    "SELECT"
    " (SELECT COUNT(*) FROM member WHERE merged_into IS NULL),"
    " (SELECT COUNT(*) FROM member WHERE merged_into IS NULL"
    "   AND created_at >= :start AND created_at < :end),"
    " (SELECT COUNT(*) FROM (SELECT member_id FROM purchase"
    "   WHERE occurred_at >= :start AND occurred_at < :end GROUP BY member_id"
    "   UNION SELECT member_id FROM checkin"
    "   WHERE checked_in_at >= :start AND checked_in_at < :end GROUP BY member_id) visits)"
)
_REFERRALS = Query(
    "SELECT"
    " (SELECT COUNT(*) FROM referral WHERE joined_at >= :start AND joined_at < :end),"
    " (SELECT COUNT(*) FROM referral WHERE status = 'rewarded'"
    "   AND purchased_at >= :start AND purchased_at < :end)"
)
# Progress rows whose window overlaps the period and moved before its end.
_CHALLENGES = Query(
    "SELECT challenge_id, COUNT(*),"
    " SUM(CASE WHEN completed_at >= :start AND completed_at < :end THEN 1 ELSE 0 END)"
    " FROM challenge_progress WHERE window_end > :start AND updated_at < :end AND value > 0"
    " GROUP BY challenge_id ORDER BY challenge_id"
)
_STREAKS = Query(
    "SELECT longest, COUNT(*) FROM (SELECT member_id, MAX(streak) AS longest"
    " FROM challenge_progress WHERE streak > 0 AND updated_at >= :start AND updated_at < :end"
    " GROUP BY member_id) s GROUP BY longest ORDER BY longest"
)
# Through ix_gift_given_at.
_RECOGNITION = Query(
    "SELECT COUNT(*), COALESCE(SUM(points), 0), COUNT(DISTINCT giver_id),"
    " COUNT(DISTINCT receiver_id) FROM gift"
    " WHERE given_at >= :start AND given_at < :end AND revoked = :no"
)
_VALUES = Query(
    "SELECT t.value, COUNT(*), SUM(g.points) FROM gift g, json_each(g.value_tags) t"
    " WHERE g.given_at >= :start AND g.given_at < :end AND g.revoked = :no"
    " GROUP BY t.value ORDER BY SUM(g.points) DESC, t.value",
    postgresql="SELECT t.value, COUNT(*), SUM(g.points) FROM gift g,"
    " jsonb_array_elements_text(g.value_tags::jsonb) t(value)"
    " WHERE g.given_at >= :start AND g.given_at < :end AND g.revoked = :no"
    " GROUP BY t.value ORDER BY SUM(g.points) DESC, t.value",
)
# Through ix_gift_given_at; one row per (channel, giver, receiver), at most one per gift.
_CHANNEL_GIFTS = Query(
    "SELECT channel, MAX(channel_name), giver_id, receiver_id, COUNT(*), SUM(points) FROM gift"
    " WHERE given_at >= :start AND given_at < :end AND revoked = :no"
    " GROUP BY channel, giver_id, receiver_id"
)
_OUTBOX = Query(
    "SELECT category, status, COUNT(*) FROM outbox"
    " WHERE created_at >= :start AND created_at < :end GROUP BY category, status"
)
_SPENDING = Query(
    "SELECT COALESCE(SUM(amount_minor - refunded_minor), 0),"
    " COALESCE(SUM(points - refunded_points), 0), COUNT(*) FROM purchase"
    " WHERE occurred_at >= :start AND occurred_at < :end"
)
# Since the program began: redemptions whose voucher was not returned, and who made them.
_SAVINGS = Query(
    "SELECT COALESCE(SUM(points), 0), COUNT(DISTINCT member_id) FROM redemption"
    " WHERE returned_at IS NULL"
)

_BROADCASTS = Query(
    "SELECT id, segment, started_at, audience, holdout FROM broadcast"
    " WHERE started_at >= :start AND started_at < :end ORDER BY started_at, id"
)


class SqlReportReader:
    """`core.report_figures.ReportReader` on one transaction's cursor."""

    __slots__ = ("_sql", "_zone")

    def __init__(self, sql: Sql, zone: str = "UTC") -> None:
        self._sql = sql
        self._zone = zone  # the program's: a broadcast's lift counts visits by its days

    def _range(self, start: datetime, end: datetime) -> dict[str, Any]:
        bind = self._sql.flavor.bind_time
        return {"start": bind(start), "end": bind(end), "no": False}

    def liability(self) -> tuple[int, int]:
        """(available, pending) points members hold."""
        sums = {str(r[0]): int(r[1]) for r in self._sql.all(_LIABILITY)}
        return sums.get("available", 0), sums.get("pending", 0)

    def flows(self, start: datetime, end: datetime, zone: str) -> list[Flow]:
        """Postings of journals effective in `[start, end)` by hour (or local day), kind and
        purpose."""
        params: dict[str, Any] = self._range(start, end)
        if self._sql.flavor.name == "postgresql":
            # Settled blocks of journals from their cached sums, the rest live (storage.flow_cache).
            params["days"] = local_midnights(start, end, ZoneInfo(zone))
            rows = cached_flows(self._sql, start, end, zone, _FLOWS, params)
        else:
            rows = [tuple(r) for r in self._sql.all(_FLOWS, params)]
        return [
            Flow(hour=self._hour(r[0]), kind=str(r[1]), purpose=str(r[2]), points=int(r[3]))
            for r in rows
        ]

    def _hour(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return datetime.fromisoformat(f"{value}:00:00").replace(tzinfo=UTC)

    def expiring(self, now: datetime, horizons: Sequence[datetime]) -> list[int]:
        """Available points expiring after `now` up to each horizon."""
        if not horizons:
            return []
        bind = self._sql.flavor.bind_time
        params = {"now": bind(now), "last": bind(max(horizons))}
        params.update({f"until_{n}": bind(until) for n, until in enumerate(horizons)})
        return [int(value) for value in self._row(_expiring(len(horizons)), params)]

    def top_rewards(self, start: datetime, end: datetime, limit: int) -> list[RewardCount]:
        """The most redeemed rewards of the period."""
        params = {**self._range(start, end), "limit": limit}
        return [
            RewardCount(reward_id=str(r[0]), redemptions=int(r[1]), points=int(r[2]))
            for r in self._sql.all(_TOP_REWARDS, params)
        ]

    def vouchers(self, start: datetime, end: datetime) -> Vouchers:
        """Vouchers issued, used and returned in the period."""
        row = self._row(_VOUCHERS, self._range(start, end))
        return Vouchers(issued=int(row[0]), used=int(row[1]), returned=int(row[2]))

    def members(self, start: datetime, end: datetime) -> MemberCounts:
        """Members in all, new and active in the period."""
        row = self._row(_MEMBERS, self._range(start, end))
        return MemberCounts(total=int(row[0]), new=int(row[1]), active=int(row[2]))

    def referrals(self, start: datetime, end: datetime) -> ReferralCounts:
        """Friends who joined, and referrals that converted, in the period."""
        row = self._row(_REFERRALS, self._range(start, end))
        return ReferralCounts(joined=int(row[0]), converted=int(row[1]))

    def challenges(self, start: datetime, end: datetime) -> list[ChallengeCount]:
        """Participants and completions per challenge."""
        return [
            ChallengeCount(challenge_id=str(r[0]), participants=int(r[1]), completed=int(r[2]))
            for r in self._sql.all(_CHALLENGES, self._range(start, end))
        ]

    def streaks(self, start: datetime, end: datetime) -> list[tuple[int, int]]:
        """(longest streak, members) in the period."""
        return [(int(r[0]), int(r[1])) for r in self._sql.all(_STREAKS, self._range(start, end))]

    def recognition(self, start: datetime, end: datetime) -> Recognition:
        """Gifts, points, givers and receivers in the period."""
        row = self._row(_RECOGNITION, self._range(start, end))
        return Recognition(
            gifts=int(row[0]), points=int(row[1]), givers=int(row[2]), receivers=int(row[3])
        )

    def values(self, start: datetime, end: datetime) -> list[ValueCount]:
        """Gifts per company value tag."""
        return [
            ValueCount(value=str(r[0]), gifts=int(r[1]), points=int(r[2]))
            for r in self._sql.all(_VALUES, self._range(start, end))
        ]

    def channel_gifts(self, start: datetime, end: datetime) -> list[ChannelGifts]:
        """Gifts by channel, giver and receiver in the period."""
        return [
            ChannelGifts(
                channel=None if r[0] is None else str(r[0]),
                channel_name=None if r[1] is None else str(r[1]),
                giver_id=int(r[2]),
                receiver_id=int(r[3]),
                gifts=int(r[4]),
                points=int(r[5]),
            )
            for r in self._sql.all(_CHANNEL_GIFTS, self._range(start, end))
        ]

    def outbox(self, start: datetime, end: datetime) -> list[OutboxCount]:
        """Outbox rows created in the period by category and status."""
        return [
            OutboxCount(category=str(r[0]), status=str(r[1]), messages=int(r[2]))
            for r in self._sql.all(_OUTBOX, self._range(start, end))
        ]

    def spending(self, start: datetime, end: datetime) -> Spending:
        """Net spend and points of the period's purchases."""
        row = self._row(_SPENDING, self._range(start, end))
        return Spending(spend_minor=int(row[0]), points=int(row[1]), purchases=int(row[2]))

    def savings(self) -> Savings:
        """Points redeemed since the start, net of returned vouchers, and by how many members."""
        row = self._row(_SAVINGS, {})
        return Savings(redeemed_points=int(row[0]), redeemers=int(row[1]))

    def broadcasts(self, start: datetime, end: datetime, days: int) -> list[BroadcastCount]:
        """Broadcasts started in the period with the lift figures of their two groups (the
        broadcasts' own lift query, `storage.broadcast_store`, one per broadcast)."""
        flavor = self._sql.flavor
        found = []
        for row in self._sql.all(_BROADCASTS, self._range(start, end)):
            started = flavor.read_time(row[2])
            until = started + timedelta(days=days)
            params = lift_params(flavor, int(row[0]), started, until, self._zone)
            groups = {bool(g[0]): _group(g) for g in self._sql.all(_LIFT, params)}
            found.append(
                BroadcastCount(
                    broadcast_id=int(row[0]),
                    segment=str(row[1]),
                    started_at=started,
                    audience=int(row[3] or 0),
                    holdout=int(row[4] or 0),
                    sent=groups.get(False, GroupSums()),
                    held=groups.get(True, GroupSums()),
                )
            )
        return found

    def _row(self, query: Query, params: dict[str, Any]) -> tuple[Any, ...]:
        row = self._sql.one(query, params)
        assert row is not None  # aggregates without GROUP BY always answer one row
        return row

    def _scalar(self, query: Query, params: dict[str, Any]) -> Any:
        return self._row(query, params)[0]


_SNAPSHOT = Query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
# The flows' grouping sorts or hashes a few hundred thousand rows: in memory, not on disk.
_WORK_MEM = Query("SET LOCAL work_mem = '64MB'")


class SqlReports:
    """Runs report reads in one read-only transaction of `run_sql` (a `SqlDatabase`'s)."""

    def __init__(self, run_sql: Callable[..., Any], flavor_name: str, zone: str = "UTC") -> None:
        self._run_sql = run_sql
        self._snapshot = flavor_name == "postgresql"
        self._zone = zone

    def read(self, work: Callable[[ReportReader], T]) -> T:
        """`work` over one consistent view of the database."""

        def transaction(sql: Sql) -> T:
            if self._snapshot:  # the first statement: every later one reads the same snapshot
                sql.run(_SNAPSHOT)
                sql.run(_WORK_MEM)
            return work(SqlReportReader(sql, self._zone))

        result: T = self._run_sql(transaction, write=False)
        return result
