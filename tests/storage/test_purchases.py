"""Purchases: recorded once per receipt, refunds accumulate, qualifying spend is net."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.model import Purchase
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member, new_journal


def _buy(
    db: SqlDatabase, member_id: int, receipt: str, minor: int, points: int, days: int
) -> Purchase:
    def work(uow: UnitOfWork) -> Purchase:
        purchase = Purchase(
            receipt, member_id, minor, points, None, new_journal(uow, f"earn:{receipt}"),
            T0 + timedelta(days=days),
        )  # fmt: skip
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
                Purchase("R-1", ann.id, 5, 0, None, new_journal(uow, "earn:again"), T0)
            )
        )
