"""`SqlDatabase.run`: one transaction per call, rollback on error, bounded retries."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import event, insert, select

from core.errors import InsufficientPoints, StorageUnavailable
from core.model import LotState, MemberAccounts, Posting, Purpose
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from storage.sql import Query, Sql
from storage.tables import metadata
from tests.storage.helpers import T0, add_member, lot, message, new_journal

TABLES = ["journal", "posting", "lot", "lot_movement", "outbox", "inbound_delivery", "reward_stock"]


def _counts(db: SqlDatabase) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t: int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar_one()) for t in TABLES
        }


def _balance(db: SqlDatabase, accounts: MemberAccounts) -> int:
    return db.run(lambda uow: uow.ledger.balances(accounts).available, write=False)


def test_work_that_raises_leaves_nothing_behind(db: SqlDatabase) -> None:
    member, accounts = add_member(db, "ann")
    db.run(lambda uow: uow.ledger.credit(accounts.available, 100))
    before = _counts(db)

    def work(uow: UnitOfWork) -> None:
        journal_id = new_journal(uow, "redeem:1", member.id)
        after = uow.ledger.debit(accounts.available, 40)
        redeemed = uow.ledger.system_account(Purpose.REDEEMED)
        uow.ledger.add_postings(
            journal_id, [Posting(accounts.available, -40, after), Posting(redeemed, 40)]
        )
        uow.ledger.add_lot(lot(member.id, journal_id, 5, 30, LotState.PENDING))
        uow.deliveries.acquire("tg:1", "h", T0, T0)
        uow.rewards.take_stock("mug", 3)
        uow.outbox.add(message(member.id, "hello", "hello:1"), T0)
        raise InsufficientPoints(needed=1, available=0, short=1)

    with pytest.raises(InsufficientPoints):
        db.run(work)
    assert _counts(db) == before
    assert _balance(db, accounts) == 100


def test_domain_errors_are_not_retried(db: SqlDatabase) -> None:
    calls = 0

    def work(uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise InsufficientPoints(needed=1, available=0, short=1)

    with pytest.raises(InsufficientPoints):
        db.run(work)
    assert calls == 1


def test_unexpected_errors_are_not_retried(db: SqlDatabase) -> None:
    calls = 0

    def work(uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        db.run(work)
    assert calls == 1


@pytest.mark.parametrize(
    "transient",
    [
        sqlite3.OperationalError("database is locked"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
    ],
    ids=["sqlite-busy", "pg-deadlock", "pg-serialization"],
)
def test_transient_failures_are_retried(db: SqlDatabase, transient: Exception) -> None:
    _, accounts = add_member(db, "ann")
    calls = 0

    def work(uow: UnitOfWork) -> int:
        nonlocal calls
        calls += 1
        balance = uow.ledger.credit(accounts.available, 10)
        if calls < 3:
            raise transient
        return balance

    assert db.run(work) == 10  # the two failed attempts were rolled back
    assert calls == 3


def test_retries_are_bounded(db: SqlDatabase) -> None:
    calls = 0

    def work(uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise sqlite3.OperationalError("database is locked")

    # Still locked after every attempt: the edge is told the database is busy, not a bug.
    with pytest.raises(StorageUnavailable) as raised:
        SqlDatabase(db.engine, attempts=3).run(work)
    assert calls == 3
    assert raised.value.reason == "busy"
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)


def test_read_only_work_sees_committed_data(db: SqlDatabase) -> None:
    member, accounts = add_member(db, "ann")
    db.run(lambda uow: uow.ledger.credit(accounts.available, 3))
    found = db.run(lambda uow: uow.members.by_id(member.id), write=False)
    assert found == member
    assert _balance(db, accounts) == 3


def test_timestamps_come_back_aware_utc(db: SqlDatabase) -> None:
    member, _ = add_member(db, "ann")
    tokyo = T0.astimezone(ZoneInfo("Asia/Tokyo"))
    new = replace(lot(member.id, 0, 5, 1), earned_at=tokyo)
    lot_id = db.run(lambda uow: uow.ledger.add_lot(replace(new, journal_id=new_journal(uow, "e"))))
    got = db.run(lambda uow: uow.ledger.lot(lot_id))
    assert got.earned_at == T0 and got.earned_at.utcoffset() == timedelta(0)
    assert got.expires_at == T0 + timedelta(days=1)
    stored = db.run(lambda uow: uow.members.by_id(member.id))
    assert stored is not None and stored.created_at == T0
    assert stored.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db: SqlDatabase) -> None:
    with pytest.raises(ValueError, match="naive"):
        db.run(lambda uow: uow.deliveries.acquire("k", "h", T0.replace(tzinfo=None), T0))


def test_sqlalchemy_and_the_repositories_agree_on_timestamps(db: SqlDatabase) -> None:
    """Tools that use the SQLModel tables read and write the same UTC values."""
    member, _ = add_member(db, "ann")
    table = metadata.tables["inbound_delivery"]
    tokyo = (T0 + timedelta(minutes=1)).astimezone(ZoneInfo("Asia/Tokyo"))
    with db.engine.begin() as conn:
        conn.execute(insert(table).values(key="sa", received_at=tokyo))
    db.run(lambda uow: uow.deliveries.acquire("repo", "h", T0, T0))
    with db.engine.connect() as conn:
        rows = {key: at for key, at in conn.execute(select(table.c.key, table.c.received_at))}
        created = conn.execute(select(metadata.tables["member"].c.created_at)).scalar_one()
    assert rows == {"sa": T0 + timedelta(minutes=1), "repo": T0}
    assert all(value.utcoffset() == timedelta(0) for value in [*rows.values(), created])
    assert created == member.created_at
    # Both writers produce values that compare in time order inside the database.
    with db.engine.connect() as conn:
        later = conn.execute(select(table.c.key).where(table.c.received_at > T0)).scalars().all()
    assert later == ["sa"]


def test_run_sql_gives_storage_code_the_same_transaction_rules(db: SqlDatabase) -> None:
    calls = 0
    count = Query("SELECT COUNT(*) FROM account WHERE member_id IS NULL")

    def work(sql: Sql) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("database is locked")
        row = sql.one(count)
        assert row is not None
        return int(row[0])

    assert db.run_sql(work, write=False) == len([p for p in Purpose if not p.is_member])
    assert calls == 2


def test_reads_in_a_reading_block_share_one_transaction_and_a_write_ends_it(
    db: SqlDatabase,
) -> None:
    """Reads share one transaction (one connection taken from the pool); a write ends it, so
    the write and every read after it see the database as it is then."""
    _, accounts = add_member(db, "ann")
    checkouts: list[object] = []
    event.listen(db.engine, "checkout", lambda *_: checkouts.append(None))

    def read(uow: UnitOfWork) -> int:
        return uow.ledger.balances(accounts).available

    with db.reading():
        first = db.run(read, write=False)
        again = db.run(read, write=False)
        assert len(checkouts) == 1
        db.run(lambda uow: uow.ledger.credit(accounts.available, 40))
        after = db.run(read, write=False)
        assert len(checkouts) == 3  # the write's, then a new shared one
    assert (first, again, after) == (0, 0, 40)
    with pytest.raises(InsufficientPoints), db.reading():  # a refusal ends nothing
        db.run(read, write=False)
        db.run(_refuse, write=False)
    assert len(checkouts) == 4
    assert _balance(db, accounts) == 40


def _refuse(uow: UnitOfWork) -> None:
    raise InsufficientPoints(needed=1, available=0, short=1)
