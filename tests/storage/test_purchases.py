"""Purchases: recorded once per receipt, refunds accumulate, qualifying spend is net."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from core.model import Purchase
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from storage.tables import PurchaseDayRow
from tests.storage.helpers import T0, add_member, new_journal


def _buy(
    db: SqlDatabase, member_id: int, receipt: str, minor: int, points: int, days: int
) -> Purchase:
    def work(uow: UnitOfWork) -> Purchase:
        purchase = Purchase(
            receipt=receipt,
            member_id=member_id,
            amount_minor=minor,
            points=points,
            lot_id=None,
            journal_id=new_journal(uow, f"earn:{receipt}"),
            occurred_at=T0 + timedelta(days=days),
        )
        uow.purchases.add(purchase)
        return purchase

    return db.run(work)


def test_purchases_refunds_and_qualifying_totals(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    bob, _ = add_member(db, "bob")
    old = _buy(db, ann.id, "R-1", 10_000, 100, -400)
    _buy(db, ann.id, "R-2", 2_550, 25, 0)
    _buy(db, ann.id, "R-3", 1_000, 10, 5)
    _buy(db, bob.id, "R-4", 99_900, 999, 0)
    assert db.run(lambda uow: uow.purchases.get("R-1")) == old
    assert db.run(lambda uow: uow.purchases.get("R-9")) is None
    db.run(lambda uow: uow.purchases.add_refund("R-2", 550, 5))
    db.run(lambda uow: uow.purchases.add_refund("R-2", 1_000, 10))
    refunded = db.run(lambda uow: uow.purchases.get("R-2"))
    assert refunded is not None and (refunded.refunded_minor, refunded.refunded_points) == (
        1_550,
        15,
    )
    since = T0 - timedelta(days=365)
    assert db.run(lambda uow: uow.purchases.qualifying(ann.id, since)) == (2_000, 20)
    assert db.run(lambda uow: uow.purchases.qualifying(ann.id, T0 + timedelta(days=5))) == (
        1_000,
        10,
    )
    assert db.run(lambda uow: uow.purchases.qualifying(ann.id, T0 + timedelta(days=6))) == (0, 0)
    with pytest.raises(LookupError):
        db.run(lambda uow: uow.purchases.add_refund("R-9", 1, 1))


def test_a_receipt_is_recorded_once(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    _buy(db, ann.id, "R-1", 100, 1, 0)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        SqlDatabase(db.engine, attempts=1).run(
            lambda uow: uow.purchases.add(
                Purchase(
                    receipt="R-1",
                    member_id=ann.id,
                    amount_minor=5,
                    points=0,
                    lot_id=None,
                    journal_id=new_journal(uow, "earn:again"),
                    occurred_at=T0,
                )
            )
        )


def _days(db: SqlDatabase) -> list[tuple[int, date, int, int]]:
    """Every daily-totals row, read from the table rather than through the repository."""
    table = PurchaseDayRow.__table__
    with db.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.member_id, table.c.day)).all()
    return [(int(r.member_id), r.day, int(r.spend_minor), int(r.points)) for r in rows]


def test_daily_totals_follow_purchases_and_refunds_on_their_purchase_day(
    db: SqlDatabase,
) -> None:
    ann, _ = add_member(db, "ann")
    bob, _ = add_member(db, "bob")
    day0, day1 = T0.date(), T0.date() + timedelta(days=1)  # T0 is noon UTC
    _buy(db, ann.id, "R-1", 1_000, 10, 0)
    _buy(db, ann.id, "R-2", 500, 5, 0)
    _buy(db, bob.id, "R-3", 700, 7, 0)

    # 02:30 at UTC+3 on day 2 is 23:30 UTC on day 1: days are UTC days.
    late = datetime.combine(day1, time(23, 30), UTC).astimezone(timezone(timedelta(hours=3)))
    db.run(
        lambda uow: uow.purchases.add(
            Purchase(
                receipt="R-4",
                member_id=ann.id,
                amount_minor=2_000,
                points=20,
                lot_id=None,
                journal_id=new_journal(uow, "earn:R-4"),
                occurred_at=late,
            )
        )
    )
    assert _days(db) == [
        (ann.id, day0, 1_500, 15),
        (ann.id, day1, 2_000, 20),
        (bob.id, day0, 700, 7),
    ]

    # Refunds are recorded later (today, by the wall clock), but they come off the day
    # the purchase was made: no row appears for the refund's own day.
    db.run(lambda uow: uow.purchases.add_refund("R-1", 300, 3))
    db.run(lambda uow: uow.purchases.add_refund("R-1", 200, 2))
    db.run(lambda uow: uow.purchases.add_refund("R-4", 2_000, 20))
    assert _days(db) == [
        (ann.id, day0, 1_000, 10),
        (ann.id, day1, 0, 0),
        (bob.id, day0, 700, 7),
    ]
    # The daily totals agree with the purchases, net of refunds.
    receipts = ("R-1", "R-2", "R-3", "R-4")
    purchases = db.run(lambda uow: [uow.purchases.get(r) for r in receipts])
    for member_id in (ann.id, bob.id):
        mine = [p for p in purchases if p is not None and p.member_id == member_id]
        spend = sum(p.amount_minor - p.refunded_minor for p in mine)
        points = sum(p.points - p.refunded_points for p in mine)
        assert sum(d[2] for d in _days(db) if d[0] == member_id) == spend
        assert sum(d[3] for d in _days(db) if d[0] == member_id) == points

    # The window is day-granular: the whole UTC day `since` falls on counts, even before it.
    evening = datetime.combine(day0, time(22, 0), UTC)
    assert db.run(lambda uow: uow.purchases.qualifying(ann.id, evening)) == (1_000, 10)
    assert db.run(lambda uow: uow.purchases.qualifying(ann.id, late)) == (0, 0)
    assert db.run(lambda uow: uow.purchases.qualifying(bob.id, evening)) == (700, 7)
    next_day = datetime.combine(day1, time(0, 0), UTC)
    assert db.run(lambda uow: uow.purchases.qualifying(bob.id, next_day)) == (0, 0)


def test_a_refund_of_an_unknown_receipt_changes_no_daily_totals(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    _buy(db, ann.id, "R-1", 1_000, 10, 0)
    with pytest.raises(LookupError):
        db.run(lambda uow: uow.purchases.add_refund("R-9", 1_000, 10))
    assert _days(db) == [(ann.id, T0.date(), 1_000, 10)]
