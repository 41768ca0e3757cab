"""Rewards: stock that cannot be oversold, and redemptions."""

from __future__ import annotations

from datetime import timedelta

from core.model import Redemption
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member, new_journal


def test_take_stock_stops_at_stock(db: SqlDatabase) -> None:
    taken = [db.run(lambda uow: uow.rewards.take_stock("mug", 3)) for _ in range(5)]
    assert taken == [True, True, True, False, False]
    assert db.run(lambda uow: uow.rewards.take_stock("pen", 0)) is False
    assert db.run(lambda uow: uow.rewards.stock_taken(["mug", "pen", "cap"])) == {
        "mug": 3,
        "pen": 0,
        "cap": 0,
    }
    assert db.run(lambda uow: uow.rewards.stock_taken([])) == {}
    # A larger stock (say, restocked in the program file) allows more.
    assert db.run(lambda uow: uow.rewards.take_stock("mug", 4)) is True


def test_redemptions(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")

    def redeem(uow: UnitOfWork, n: int, reward: str) -> int:
        journal_id = new_journal(uow, f"redeem:{n}", ann.id)
        return uow.rewards.add_redemption(
            Redemption(
                id=0,
                member_id=ann.id,
                reward_id=reward,
                points=50 * n,
                voucher=f"V-{n}",
                journal_id=journal_id,
                created_at=T0,
                valid_until=T0 + timedelta(days=30),
            )
        )

    first = db.run(lambda uow: redeem(uow, 1, "mug"))
    db.run(lambda uow: redeem(uow, 2, "mug"))
    db.run(lambda uow: redeem(uow, 3, "cap"))
    assert db.run(lambda uow: uow.rewards.count_redemptions(ann.id, "mug")) == 2
    assert db.run(lambda uow: uow.rewards.count_redemptions(ann.id, "pen")) == 0
    assert db.run(lambda uow: uow.rewards.redeemed_points(ann.id)) == 300
    journal = db.run(lambda uow: uow.ledger.find_journal("redeem:1"))
    assert journal is not None
    found = db.run(lambda uow: uow.rewards.redemption_for_journal(journal.id))
    assert found == Redemption(
        id=first,
        member_id=ann.id,
        reward_id="mug",
        points=50,
        voucher="V-1",
        journal_id=journal.id,
        created_at=T0,
        valid_until=T0 + timedelta(days=30),
    )
    assert db.run(lambda uow: uow.rewards.redemption_for_journal(9999)) is None
