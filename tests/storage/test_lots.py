"""Lots: first-expiring-first order, drawing, release, expiry and the next dates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.model import Lot, LotDraw, LotState, Member
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from storage.errors import ConcurrentUpdate
from tests.storage.helpers import T0, add_member, lot, new_journal


@pytest.fixture
def ann(db: SqlDatabase) -> Member:
    return add_member(db, "ann")[0]


def _add_lots(db: SqlDatabase, member: Member, specs: list[tuple[int, int, LotState]]) -> list[int]:
    """Lots of (amount, days to expiry, state); pending ones are released after one day."""

    def work(uow: UnitOfWork) -> list[int]:
        journal_id = new_journal(uow, f"earn:{member.id}:{len(specs)}:{specs[0]}")
        return [
            uow.ledger.add_lot(
                lot(member.id, journal_id, amount, days, state, 1 if state == "pending" else 0)
            )
            for amount, days, state in specs
        ]

    return db.run(work)


def _movements(db: SqlDatabase) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT lot_id, amount, kind FROM lot_movement ORDER BY id")
        return [tuple(row) for row in rows]


AVAILABLE, PENDING = LotState.AVAILABLE, LotState.PENDING


def test_drawable_lots_come_first_expiring_first_with_a_cursor(
    db: SqlDatabase, ann: Member
) -> None:
    ids = _add_lots(
        db,
        ann,
        [
            (10, 30, AVAILABLE),
            (20, 10, AVAILABLE),
            (30, 30, AVAILABLE),
            (5, 5, PENDING),
            (7, 20, AVAILABLE),
        ],
    )
    bob, _ = add_member(db, "bob")
    _add_lots(db, bob, [(99, 1, AVAILABLE)])
    first = db.run(lambda uow: uow.ledger.drawable_lots(ann.id, None, 2))
    assert [x.id for x in first] == [ids[1], ids[4]]
    cursor = (first[-1].expires_at, first[-1].id)
    rest = db.run(lambda uow: uow.ledger.drawable_lots(ann.id, cursor, 10))
    assert [x.id for x in rest] == [ids[0], ids[2]]  # same expiry: by id
    tie = (rest[0].expires_at, rest[0].id)
    assert [x.id for x in db.run(lambda uow: uow.ledger.drawable_lots(ann.id, tie, 10))] == [ids[2]]
    assert first[0] == Lot(
        id=ids[1],
        member_id=ann.id,
        amount=20,
        remaining=20,
        state=AVAILABLE,
        earned_at=T0,
        available_at=T0,
        expires_at=T0 + timedelta(days=10),
    )


def test_draw_takes_points_and_records_movements(db: SqlDatabase, ann: Member) -> None:
    a, b = _add_lots(db, ann, [(10, 5, AVAILABLE), (20, 9, AVAILABLE)])

    def redeem(uow: UnitOfWork) -> None:
        journal_id = new_journal(uow, "redeem:1", ann.id)
        uow.ledger.draw(journal_id, [LotDraw(a, 10), LotDraw(b, 4)], "redeem")
        uow.ledger.draw(journal_id, [], "redeem")

    db.run(redeem)
    assert db.run(lambda uow: uow.ledger.lot(a)).remaining == 0
    assert db.run(lambda uow: uow.ledger.lot(b)).remaining == 16
    assert _movements(db) == [(a, 10, "redeem"), (b, 4, "redeem")]
    assert [x.id for x in db.run(lambda uow: uow.ledger.drawable_lots(ann.id, None, 10))] == [b]


def test_drawing_more_than_remains_is_refused_and_retried(db: SqlDatabase, ann: Member) -> None:
    (a,) = _add_lots(db, ann, [(10, 5, AVAILABLE)])
    once = SqlDatabase(db.engine, attempts=1)
    with pytest.raises(ConcurrentUpdate):
        once.run(
            lambda uow: uow.ledger.draw(new_journal(uow, "x", ann.id), [LotDraw(a, 11)], "redeem")
        )
    assert db.run(lambda uow: uow.ledger.lot(a)).remaining == 10
    assert _movements(db) == []
    with pytest.raises(ValueError, match="positive"):
        db.run(lambda uow: uow.ledger.draw(1, [LotDraw(a, 0)], "redeem"))


def test_unknown_lot(db: SqlDatabase) -> None:
    with pytest.raises(LookupError):
        db.run(lambda uow: uow.ledger.lot(999))


def test_release_and_expiry_queues(db: SqlDatabase, ann: Member) -> None:
    bob, _ = add_member(db, "bob")
    p1, p2, a1, a2 = _add_lots(
        db, ann, [(5, 30, PENDING), (6, 30, PENDING), (7, 2, AVAILABLE), (8, 3, AVAILABLE)]
    )
    (bp,) = _add_lots(db, bob, [(9, 30, PENDING)])
    day = T0 + timedelta(days=1)
    assert (
        db.run(lambda uow: uow.ledger.due_pending_lots(day - timedelta(seconds=1), None, 10)) == []
    )
    assert [x.id for x in db.run(lambda uow: uow.ledger.due_pending_lots(day, None, 10))] == [
        p1,
        p2,
        bp,
    ]
    assert [x.id for x in db.run(lambda uow: uow.ledger.due_pending_lots(day, ann.id, 1))] == [p1]
    db.run(lambda uow: uow.ledger.make_available([p1, bp]))
    assert [x.id for x in db.run(lambda uow: uow.ledger.due_pending_lots(day, None, 10))] == [p2]
    assert db.run(lambda uow: uow.ledger.lot(p1)).state is AVAILABLE
    expiring = db.run(lambda uow: uow.ledger.due_expiring_lots(T0 + timedelta(days=3), 10))
    assert [x.id for x in expiring] == [a1, a2]  # at or before the moment; pending never
    db.run(lambda uow: uow.ledger.draw(new_journal(uow, "expire:a1"), [LotDraw(a1, 7)], "expire"))
    assert [
        x.id for x in db.run(lambda uow: uow.ledger.due_expiring_lots(T0 + timedelta(days=3), 10))
    ] == [a2]


def test_next_release_and_next_expiry_sum_lots_sharing_the_date(
    db: SqlDatabase, ann: Member
) -> None:
    assert db.run(lambda uow: uow.ledger.next_release(ann.id)) is None
    assert db.run(lambda uow: uow.ledger.next_expiry(ann.id)) is None
    ids = _add_lots(
        db,
        ann,
        [
            (5, 40, PENDING),
            (6, 40, PENDING),
            (7, 20, AVAILABLE),
            (8, 20, AVAILABLE),
            (9, 10, AVAILABLE),
            (4, 50, AVAILABLE),
        ],
    )
    assert db.run(lambda uow: uow.ledger.next_release(ann.id)) == (T0 + timedelta(days=1), 11)
    assert db.run(lambda uow: uow.ledger.next_expiry(ann.id)) == (T0 + timedelta(days=10), 9)
    db.run(
        lambda uow: uow.ledger.draw(
            new_journal(uow, "r"), [LotDraw(ids[4], 9), LotDraw(ids[2], 3)], "redeem"
        )
    )
    assert db.run(lambda uow: uow.ledger.next_expiry(ann.id)) == (T0 + timedelta(days=20), 12)
    bob, _ = add_member(db, "bob")
    assert db.run(lambda uow: uow.ledger.next_expiry(bob.id)) is None
