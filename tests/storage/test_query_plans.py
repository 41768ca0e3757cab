"""The lot, history and qualifying queries use their indexes, so they stay fast when big."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from core.model import LotDraw, LotState, Posting, Purchase, Purpose
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from storage.repositories import history, lots
from storage.repositories import purchases as purchases_repo
from storage.sql import Query, flavor_for
from storage.tables import MemberRow, PurchaseDayRow
from tests.storage.helpers import T0, add_member, lot, new_journal

LOTS = 10_000


@pytest.fixture
def loaded(db: SqlDatabase) -> tuple[SqlDatabase, int]:
    """One member with 10,000 lots: a quarter pending, the rest available, half of those spent."""
    member, accounts = add_member(db, "ann")

    def work(uow: UnitOfWork) -> None:
        journal_id = new_journal(uow, "bulk")
        issued = uow.ledger.system_account(Purpose.ISSUED_PURCHASE)
        draws = []
        for i in range(LOTS):
            state = LotState.PENDING if i % 4 == 0 else LotState.AVAILABLE
            lot_id = uow.ledger.add_lot(lot(member.id, journal_id, 10, 30 + i % 365, state, i % 7))
            if state is LotState.AVAILABLE and i % 2:
                draws.append(LotDraw(lot_id, 10))
        uow.ledger.draw(journal_id, draws, "redeem")
        for _ in range(200):
            after = uow.ledger.credit(accounts.available, 1)
            uow.ledger.add_postings(
                journal_id, [Posting(issued, -1), Posting(accounts.available, 1, after)]
            )

    db.run(work)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            # This schema's tables only: a bare ANALYZE visits every schema of the shared
            # database and waits for other runs' locks.
            conn.exec_driver_sql("ANALYZE member, account, journal, posting, lot, redemption")
            conn.commit()
    return db, member.id


def _plan(db: SqlDatabase, query: Query, params: dict[str, Any]) -> str:
    flavor = flavor_for(db.engine.dialect.name)
    bound = {k: flavor.bind_time(v) if hasattr(v, "tzinfo") else v for k, v in params.items()}
    raw = db.engine.raw_connection()
    try:
        cursor: Any = raw.driver_connection.cursor()  # type: ignore[union-attr]
        if flavor.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + query.sqlite, bound)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + query.postgresql, bound)
        return "\n".join(str(row[0]) for row in cursor.fetchall())
    finally:
        raw.rollback()
        raw.close()


CASES: list[tuple[str, Query, dict[str, Any], str]] = [
    ("drawable", lots._DRAWABLE, {"limit": 32}, "ix_lot_member_available"),
    (
        "drawable-after",
        lots._DRAWABLE_AFTER,
        {"limit": 32, "expires_at": T0 + timedelta(days=100), "id": 500},
        "ix_lot_member_available",
    ),
    ("next-expiry", lots._NEXT_EXPIRY, {}, "ix_lot_member_available"),
    ("next-release", lots._NEXT_RELEASE, {}, "ix_lot_member_pending"),
    ("next-dates, release", lots._NEXT_DATES, {}, "ix_lot_member_pending"),
    ("next-dates, expiry", lots._NEXT_DATES, {}, "ix_lot_member_available"),
    ("due-pending-of", lots._DUE_PENDING_OF, {"now": T0, "limit": 100}, "ix_lot_member_pending"),
    ("due-pending", lots._DUE_PENDING, {"now": T0, "limit": 100}, "ix_lot_release_due"),
    ("due-expiring", lots._DUE_EXPIRING, {"now": T0, "limit": 100}, "ix_lot_expiry_due"),
    ("history", history._HISTORY, {"offset": 0, "limit": 20}, "ix_posting_account_id"),
]


def test_queries_use_their_indexes_and_answer_right(loaded: tuple[SqlDatabase, int]) -> None:
    db, member_id = loaded
    for name, query, params, index in CASES:
        plan = _plan(db, query, {"member_id": member_id, **params})
        assert index in plan, f"{name}:\n{plan}"
        if db.engine.dialect.name == "sqlite" and name != "history":
            assert "TEMP B-TREE" not in plan, f"{name}:\n{plan}"  # index order, no sort
        assert "Seq Scan on lot" not in plan, f"{name}:\n{plan}"
    release = db.run(lambda uow: uow.ledger.next_release(member_id))
    expiry = db.run(lambda uow: uow.ledger.next_expiry(member_id))
    # Pending lots: i % 4 == 0, available after i % 7 days; the earliest day is 0.
    assert release == (T0, 10 * len([i for i in range(LOTS) if i % 4 == 0 and i % 7 == 0]))
    open_available = [i for i in range(LOTS) if i % 4 and not i % 2]
    soonest = min(30 + i % 365 for i in open_available)
    count = len([i for i in open_available if 30 + i % 365 == soonest])
    assert expiry == (T0 + timedelta(days=soonest), 10 * count)
    assert db.run(lambda uow: uow.ledger.next_dates(member_id)) == (release, expiry)
    page = db.run(lambda uow: uow.ledger.drawable_lots(member_id, None, 32))
    assert len(page) == 32 and all(x.remaining == 10 for x in page)


def test_qualifying_reads_a_range_of_the_daily_totals_key(db: SqlDatabase) -> None:
    """3,000 purchases over 1,000 days, among 300 members' totals: a window reads ~366 rows."""
    ann, _ = add_member(db, "ann")
    purchases = [(T0 - timedelta(hours=8 * i), 100 + i % 7) for i in range(3_000)]

    def work(uow: UnitOfWork) -> None:
        journal_id = new_journal(uow, "bulk")
        for n, (at, minor) in enumerate(purchases):
            uow.purchases.add(
                Purchase(
                    receipt=f"R-{n}",
                    member_id=ann.id,
                    amount_minor=minor,
                    points=minor // 10,
                    lot_id=None,
                    journal_id=journal_id,
                    occurred_at=at,
                )
            )

    db.run(work)
    with db.engine.begin() as conn:  # other members' totals, written directly: only the plan
        others = [
            {
                "id": ann.id + 1 + i,
                "code": f"O-{i}",
                "code_key": f"O{i}",
                "display_name": "other",
                "role": 0,
                "created_at": T0,
            }
            for i in range(300)
        ]
        conn.execute(insert(MemberRow.__table__), others)
        conn.execute(
            insert(PurchaseDayRow.__table__),
            [{"member_id": o["id"], "day": T0.date() - timedelta(days=d), "spend_minor": 50,
              "points": 5} for o in others for d in range(50)],
        )  # fmt: skip
        if db.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE member, purchase, purchase_day")
    since = T0 - timedelta(days=365)
    flavor = flavor_for(db.engine.dialect.name)
    since_day: Any = since.date().isoformat() if flavor.name == "sqlite" else since.date()
    plan = _plan(db, purchases_repo._QUALIFYING, {"member_id": ann.id, "since_day": since_day})
    if flavor.name == "sqlite":
        assert "purchase_day USING INDEX sqlite_autoindex_purchase_day_1" in plan, plan
        assert "(member_id=? AND day>?)" in plan, plan
    else:
        assert "purchase_day_pkey" in plan and "Seq Scan" not in plan, plan
    counted = [minor for at, minor in purchases if at.date() >= since.date()]
    assert db.run(lambda uow: uow.purchases.qualifying(ann.id, since)) == (
        sum(counted),
        sum(minor // 10 for minor in counted),
    )
