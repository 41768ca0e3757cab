"""Inbound event ids are claimed once; outbox messages are deduplicated by key."""

from __future__ import annotations

from datetime import timedelta

from core.model import OutboxMessage
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member


def test_claim_is_true_once_then_false(db: SqlDatabase) -> None:
    assert db.run(lambda uow: uow.events.claim("tg:1", T0)) is True
    assert db.run(lambda uow: uow.events.claim("tg:1", T0)) is False
    assert db.run(lambda uow: uow.events.claim("slack:1", T0)) is True


def test_a_duplicate_claim_leaves_the_transaction_usable(db: SqlDatabase) -> None:
    def work(uow: UnitOfWork) -> tuple[bool, bool, bool]:
        return (
            uow.events.claim("tg:2", T0),
            uow.events.claim("tg:2", T0),
            uow.events.claim("tg:3", T0),
        )

    assert db.run(work) == (True, False, True)


def test_outbox_ignores_a_duplicate_dedupe_key(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    later = T0 + timedelta(hours=1)
    first = OutboxMessage(ann.id, "kudos_received", {"points": 5, "by": "Bob"}, "kudos:1")
    again = OutboxMessage(ann.id, "kudos_received", {"points": 6}, "kudos:1")
    other = OutboxMessage(ann.id, "nudge", {}, "nudge:1", not_before=later)

    def work(uow: UnitOfWork) -> None:
        uow.outbox.add(first, T0)
        uow.outbox.add(again, T0)
        uow.outbox.add(other, T0)

    db.run(work)
    db.run(lambda uow: uow.outbox.add(first, T0))
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT member_id, kind, params, dedupe_key, status, attempts FROM outbox ORDER BY id"
        ).all()
    assert [tuple(r) for r in rows] == [
        (ann.id, "kudos_received", '{"points":5,"by":"Bob"}', "kudos:1", "queued", 0),
        (ann.id, "nudge", "{}", "nudge:1", "queued", 0),
    ]
