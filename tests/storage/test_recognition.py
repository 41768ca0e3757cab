"""Recognition storage: the allowance counter and gifts."""

from __future__ import annotations

from datetime import timedelta

from core.model import Gift
from core.ports import RecognitionUnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member, new_journal


def test_allowance_is_spent_conditionally_and_restored(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")

    def spend(points: int) -> bool:
        return db.run(lambda uow: uow.recognition.spend_allowance(ann.id, "2026-03", points, 100))

    assert [spend(60), spend(50), spend(40), spend(1)] == [True, False, True, False]
    assert spend(101) is False and spend(0) is False
    assert db.run(lambda uow: uow.recognition.allowance_spent(ann.id, "2026-03")) == 100
    assert db.run(lambda uow: uow.recognition.allowance_spent(ann.id, "2026-04")) == 0
    db.run(lambda uow: uow.recognition.restore_allowance(ann.id, "2026-03", 40))
    assert db.run(lambda uow: uow.recognition.allowance_spent(ann.id, "2026-03")) == 60
    db.run(lambda uow: uow.recognition.restore_allowance(ann.id, "2026-03", 500))
    assert db.run(lambda uow: uow.recognition.allowance_spent(ann.id, "2026-03")) == 0


def test_gifts_pairs_revocation_and_top_receivers(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    bob, _ = add_member(db, "bob")
    cat, _ = add_member(db, "cat")

    def give(uow: RecognitionUnitOfWork, key: str, receiver: int, points: int, days: int) -> Gift:
        gift = Gift(
            key=key,
            journal_id=new_journal(uow, key),
            giver_id=ann.id,
            receiver_id=receiver,
            points=points,
            values=("teamwork", "care"),
            reason="thanks #teamwork",
            period="2026-03",
            day=f"2026-03-0{1 + days}",
            lot_id=None,
            given_at=T0 + timedelta(days=days),
        )
        uow.recognition.add_gift(gift)
        return gift

    first = db.run(lambda uow: give(uow, "k1", bob.id, 10, 0))
    db.run(lambda uow: give(uow, "k2", bob.id, 5, 0))
    db.run(lambda uow: give(uow, "k3", cat.id, 12, 0))
    db.run(lambda uow: give(uow, "k4", bob.id, 20, 2))
    assert db.run(lambda uow: uow.recognition.gift("k1")) == first
    assert db.run(lambda uow: uow.recognition.gift("nope")) is None
    assert db.run(lambda uow: uow.recognition.pair_given(ann.id, bob.id, "2026-03-01")) == 15
    assert db.run(lambda uow: uow.recognition.top_receivers(T0, 10)) == [(bob.id, 35), (cat.id, 12)]
    assert db.run(lambda uow: uow.recognition.mark_revoked("k1")) is True
    assert db.run(lambda uow: uow.recognition.mark_revoked("k1")) is False
    assert db.run(lambda uow: uow.recognition.mark_revoked("nope")) is False
    revoked = db.run(lambda uow: uow.recognition.gift("k1"))
    assert revoked is not None and revoked.revoked
    assert db.run(lambda uow: uow.recognition.pair_given(ann.id, bob.id, "2026-03-01")) == 5
    since = T0 + timedelta(days=1)
    assert db.run(lambda uow: uow.recognition.top_receivers(since, 10)) == [(bob.id, 20)]
    assert db.run(lambda uow: uow.recognition.top_receivers(T0, 1)) == [(bob.id, 25)]
