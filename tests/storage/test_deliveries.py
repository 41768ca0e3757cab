"""Inbound deliveries: kept once, held by one handling at a time under a lease, settled in
the command's own transaction, taken over when the lease runs out; on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.deliveries import (
    DONE,
    HELD,
    LAPSED,
    NEW,
    Delivery,
    DeliveryTaken,
    Inbound,
    handling,
    new_handling,
)
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member, message
from tests.storage.ledger_checks import ManualClock

LEASE = timedelta(seconds=30)


def _state(db: SqlDatabase, key: str) -> tuple[str, str | None] | None:
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT state, payload FROM inbound_delivery WHERE key = '{key}'"
        ).first()
    return None if row is None else (str(row[0]), row[1])


def test_a_delivery_is_kept_once_and_held_by_one_handling(db: SqlDatabase) -> None:
    def store(holder: str) -> bool:
        return db.run(lambda uow: uow.deliveries.store("tg:1", "{}", holder, T0, T0 + LEASE))

    def acquire(holder: str, at: timedelta) -> bool:
        now = T0 + at
        return db.run(lambda uow: uow.deliveries.acquire("tg:1", holder, now, now + LEASE))

    assert store("a") is True
    assert store("b") is False  # a redelivery: acknowledged, not kept again
    assert acquire("a", timedelta(seconds=1)) is True  # the handling that kept it
    assert acquire("b", timedelta(seconds=2)) is False  # the lease is a's
    assert acquire("b", timedelta(seconds=32)) is True  # a's lease ran out: b takes over
    assert acquire("a", timedelta(seconds=33)) is False
    assert db.run(lambda uow: uow.deliveries.settle("tg:1", "a")) is False
    assert db.run(lambda uow: uow.deliveries.settle("tg:1", "b")) is True
    assert _state(db, "tg:1") == ("done", None)
    assert acquire("c", timedelta(hours=1)) is False  # handled: never again


def test_acquire_inserts_a_delivery_that_was_not_kept(db: SqlDatabase) -> None:
    """Long polling and Socket Mode: nothing was kept, the handling records the key."""
    assert db.run(lambda uow: uow.deliveries.acquire("tg:7", "a", T0, T0 + LEASE)) is True
    assert db.run(lambda uow: uow.deliveries.acquire("tg:7", "b", T0, T0 + LEASE)) is False
    assert _state(db, "tg:7") == ("pending", None)


def test_the_command_transaction_settles_its_delivery(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    clock = ManualClock(T0)
    inbound = Inbound(db, clock, LEASE)
    kept = inbound.keep("tg:2", '{"update_id": 2}')
    assert kept is not None
    assert inbound.keep("tg:2", '{"update_id": 2}') is None

    def failing(uow: UnitOfWork) -> None:
        uow.outbox.add(message(ann.id, "hello", "hello:2"), T0)
        raise RuntimeError("the command failed")

    with handling(kept), pytest.raises(RuntimeError):
        db.run(failing)
    assert _state(db, "tg:2") == ("pending", '{"update_id": 2}')  # rolled back together
    assert kept.settled is False
    with handling(kept):
        db.run(lambda uow: uow.outbox.add(message(ann.id, "hello", "hello:2"), T0))
        db.run(lambda uow: uow.members.by_identity("telegram", "x"), write=False)
    assert kept.settled is True
    assert _state(db, "tg:2") == ("done", None)


def test_a_handling_taken_over_has_no_effect(db: SqlDatabase) -> None:
    """A slow first handling outlives its lease; the second takes over and commits; the first
    one's commit then rolls back its effect instead of doing it twice."""
    ann, _ = add_member(db, "ann")
    clock = ManualClock(T0)
    inbound = Inbound(db, clock, LEASE)
    first = inbound.keep("tg:3", '{"update_id": 3}')
    assert first is not None
    clock.advance(LEASE + timedelta(seconds=1))
    taken = inbound.take_over("tg:")
    assert [(d.key, payload) for d, payload in taken] == [("tg:3", '{"update_id": 3}')]
    second = taken[0][0]
    assert second.holder != first.holder
    assert inbound.take_over("tg:") == []  # held again, by the new handling

    def effect(key: str) -> None:
        db.run(lambda uow: uow.outbox.add(message(ann.id, "hello", key), T0))

    with handling(second):
        effect("second")
    with handling(first), pytest.raises(DeliveryTaken):
        effect("first")
    with db.engine.connect() as conn:
        keys = [row[0] for row in conn.exec_driver_sql("SELECT dedupe_key FROM outbox")]
    assert keys == ["second"]


def test_take_over_picks_only_kept_pending_deliveries_whose_lease_ran_out(
    db: SqlDatabase,
) -> None:
    clock = ManualClock(T0)
    inbound = Inbound(db, clock, LEASE)
    for key in ("tg:10", "tg:11", "slack:12"):
        assert inbound.keep(key, f'"{key}"') is not None
    done = Delivery(key="tg:11", holder="x")
    assert db.run(lambda uow: uow.deliveries.acquire("tg:13", "polled", T0, T0 + LEASE))
    clock.advance(timedelta(seconds=10))
    assert inbound.take_over("tg:") == []  # every lease is still running
    assert inbound.hold(new_handling("tg:10")) is False
    clock.advance(LEASE)
    finished = inbound.take_over("tg:11")
    inbound.finish(finished[0][0])
    assert done.key == finished[0][0].key
    taken = inbound.take_over("tg:")
    # tg:11 is done, tg:13 has no payload to run again (long polling), slack:12 is Slack's.
    assert [(d.key, payload) for d, payload in taken] == [("tg:10", '"tg:10"')]
    assert [d.key for d, _ in inbound.take_over("slack:")] == ["slack:12"]


def test_a_polled_delivery_is_recorded_by_its_commands_write_only(db: SqlDatabase) -> None:
    """Long polling: nothing is written before the command runs. A read-only command leaves
    no row; a writing one records the delivery done in its own transaction (in each of its
    transactions); a second handling of the same update then has no effect."""
    ann, _ = add_member(db, "ann")
    assert db.run(lambda uow: uow.deliveries.status("tg:20", T0), write=False) == NEW
    first, second = new_handling("tg:20"), new_handling("tg:20")
    first.unrecorded_since = second.unrecorded_since = T0
    with handling(first):
        db.run(lambda uow: uow.members.by_identity("telegram", "x"), write=False)
    assert _state(db, "tg:20") is None
    with handling(first):
        db.run(lambda uow: uow.outbox.add(message(ann.id, "hello", "first"), T0))
        db.run(lambda uow: uow.outbox.add(message(ann.id, "hello", "first-again"), T0))
    assert first.settled is True
    assert _state(db, "tg:20") == ("done", None)
    with handling(second), pytest.raises(DeliveryTaken):
        db.run(lambda uow: uow.outbox.add(message(ann.id, "hello", "second"), T0))
    with db.engine.connect() as conn:
        keys = sorted(row[0] for row in conn.exec_driver_sql("SELECT dedupe_key FROM outbox"))
    assert keys == ["first", "first-again"]
    assert db.run(lambda uow: uow.deliveries.status("tg:20", T0), write=False) == DONE


def test_the_status_of_a_kept_delivery_follows_its_lease(db: SqlDatabase) -> None:
    assert db.run(lambda uow: uow.deliveries.store("tg:21", "{}", "a", T0, T0 + LEASE))

    def status(at: timedelta) -> str:
        return db.run(lambda uow: uow.deliveries.status("tg:21", T0 + at), write=False)

    assert status(timedelta(seconds=1)) == HELD
    assert status(LEASE + timedelta(seconds=1)) == LAPSED
