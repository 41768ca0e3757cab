"""The points expiring within each horizon, read in one statement (`SqlReportReader.expiring`):
each horizon sums only its own lots, open available lots only; on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.database import SqlDatabase
from storage.repositories.reports import SqlReports
from storage.sql import Query, Sql

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)

_MEMBER = Query(
    "INSERT INTO member (code, code_key, display_name, role, created_at)"
    " VALUES ('E1', 'E1', 'Eve', 0, :at)"
)
_JOURNAL = Query(
    "INSERT INTO journal (kind, key, request_hash, effective_at, created_at, member_id, meta)"
    " SELECT 'earn', 'earn:e1', '', :at, :at, id, '{{}}' FROM member WHERE code = 'E1'"
)
_LOT = Query(
    "INSERT INTO lot (member_id, journal_id, amount, remaining, state, earned_at, available_at,"
    " expires_at) SELECT j.member_id, j.id, :amount, :remaining, :state, :at, :at, :expires"
    " FROM journal j WHERE j.key = 'earn:e1'"
)


def test_each_horizon_sums_the_open_available_lots_due_by_then(db: SqlDatabase) -> None:
    lots = [  # (days until expiry, remaining, state)
        (-1, 500, "available"),  # already past: not "expiring"
        (10, 7, "available"),
        (30, 11, "available"),  # on the 30-day horizon itself: counted in it
        (45, 13, "available"),
        (45, 0, "available"),  # spent
        (80, 17, "available"),
        (80, 1000, "pending"),  # pending points never expire
        (120, 19, "available"),  # beyond every horizon
    ]

    def seed(sql: Sql) -> None:
        bind = sql.flavor.bind_time
        sql.run(_MEMBER, {"at": bind(NOW)})
        sql.run(_JOURNAL, {"at": bind(NOW)})
        for days, remaining, state in lots:
            params = {"amount": 1000, "remaining": remaining, "state": state, "at": bind(NOW),
                      "expires": bind(NOW + timedelta(days=days))}  # fmt: skip
            sql.run(_LOT, params)

    db.run_sql(seed)
    reports = SqlReports(db.run_sql, db.engine.dialect.name)
    horizons = [NOW + timedelta(days=d) for d in (30, 60, 90)]
    assert reports.read(lambda r: r.expiring(NOW, horizons)) == [18, 31, 48]
    assert reports.read(lambda r: r.expiring(NOW, horizons[2:])) == [48]
    assert reports.read(lambda r: r.expiring(NOW, [])) == []
