"""Accounts: the conditional debit, credits, balances and system accounts."""

from __future__ import annotations

import pytest

from core.model import MemberAccounts, Posting, Purpose
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import add_member, new_journal


@pytest.fixture
def accounts(db: SqlDatabase) -> MemberAccounts:
    return add_member(db, "ann")[1]


def _balance(db: SqlDatabase, account_id: int) -> int:
    return db.run(lambda uow: _one_balance(uow, account_id), write=False)


def _one_balance(uow: UnitOfWork, account_id: int) -> int:
    row = uow.ledger.balances(MemberAccounts(account_id, account_id, account_id))
    return row.available


def test_member_accounts_ascend_and_start_at_zero(db: SqlDatabase) -> None:
    _, accounts = add_member(db, "ann")
    assert accounts.available < accounts.pending < accounts.debt
    balances = db.run(lambda uow: uow.ledger.balances(accounts))
    assert (balances.available, balances.pending, balances.debt) == (0, 0, 0)


def test_credit_and_debit_chain(db: SqlDatabase, accounts: MemberAccounts) -> None:
    steps = db.run(
        lambda uow: [
            uow.ledger.credit(accounts.available, 100),
            uow.ledger.debit(accounts.available, 30),
            uow.ledger.credit(accounts.available, 5),
            uow.ledger.debit(accounts.available, 75),
        ]
    )
    assert steps == [100, 70, 75, 0]
    assert _balance(db, accounts.available) == 0


def test_debit_refuses_to_cross_the_floor_and_changes_nothing(
    db: SqlDatabase, accounts: MemberAccounts
) -> None:
    db.run(lambda uow: uow.ledger.credit(accounts.available, 50))
    assert db.run(lambda uow: uow.ledger.debit(accounts.available, 51)) is None
    assert db.run(lambda uow: uow.ledger.debit(accounts.available, 60, floor=20)) is None
    assert _balance(db, accounts.available) == 50
    assert db.run(lambda uow: uow.ledger.debit(accounts.available, 30, floor=20)) == 20


def test_debit_without_floor_may_go_negative(db: SqlDatabase, accounts: MemberAccounts) -> None:
    assert db.run(lambda uow: uow.ledger.debit(accounts.debt, 40, None)) == -40
    assert db.run(lambda uow: uow.ledger.credit(accounts.debt, 15)) == -25


def test_system_accounts_are_never_updated(db: SqlDatabase) -> None:
    issued = db.run(lambda uow: uow.ledger.system_account(Purpose.ISSUED_PURCHASE))
    with pytest.raises(ValueError, match="not a member account"):
        db.run(lambda uow: uow.ledger.credit(issued, 10))
    with pytest.raises(ValueError, match="not a member account"):
        db.run(lambda uow: uow.ledger.debit(issued, 10, None))
    assert _balance(db, issued) == 0


def test_amounts_must_be_positive(db: SqlDatabase, accounts: MemberAccounts) -> None:
    with pytest.raises(ValueError, match="positive"):
        db.run(lambda uow: uow.ledger.debit(accounts.available, 0))
    with pytest.raises(ValueError, match="positive"):
        db.run(lambda uow: uow.ledger.credit(accounts.available, -5))


def test_system_account_ids_are_stable_and_distinct(db: SqlDatabase) -> None:
    system = [p for p in Purpose if not p.is_member]
    first = db.run(lambda uow: [uow.ledger.system_account(p) for p in system])
    again = SqlDatabase(db.engine).run(lambda uow: [uow.ledger.system_account(p) for p in system])
    assert first == again
    assert len(set(first)) == len(system)
    with pytest.raises(ValueError, match="not a system purpose"):
        db.run(lambda uow: uow.ledger.system_account(Purpose.AVAILABLE))


def test_a_missing_system_account_is_created_once(db: SqlDatabase) -> None:
    db.run(lambda uow: _delete_system_account(uow, Purpose.ADJUSTMENT))
    created = SqlDatabase(db.engine).run(lambda uow: uow.ledger.system_account(Purpose.ADJUSTMENT))
    found = SqlDatabase(db.engine).run(lambda uow: uow.ledger.system_account(Purpose.ADJUSTMENT))
    assert created == found


def test_a_rolled_back_system_account_is_not_cached(db: SqlDatabase) -> None:
    db.run(lambda uow: _delete_system_account(uow, Purpose.ADJUSTMENT))
    fresh = SqlDatabase(db.engine)

    def create_then_fail(uow: UnitOfWork) -> None:
        uow.ledger.system_account(Purpose.ADJUSTMENT)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fresh.run(create_then_fail)
    account = fresh.run(lambda uow: uow.ledger.system_account(Purpose.ADJUSTMENT))
    assert _balance(fresh, account) == 0  # the id exists: it was not served from a stale cache


def test_postings_are_stored_with_balance_after(db: SqlDatabase, accounts: MemberAccounts) -> None:
    def work(uow: UnitOfWork) -> int:
        journal_id = new_journal(uow, "earn:1")
        issued = uow.ledger.system_account(Purpose.ISSUED_PURCHASE)
        after = uow.ledger.credit(accounts.available, 10)
        uow.ledger.add_postings(
            journal_id, [Posting(issued, -10), Posting(accounts.available, 10, after)]
        )
        uow.ledger.add_postings(journal_id, [])
        return journal_id

    journal_id = db.run(work)
    rows = _raw(db, "SELECT account_id, amount, balance_after FROM posting WHERE journal_id = "
                f"{journal_id} ORDER BY id")  # fmt: skip
    assert rows[1:] == [(accounts.available, 10, 10)]
    assert rows[0][1:] == (-10, None)


def test_balances_can_lock_the_rows(db: SqlDatabase, accounts: MemberAccounts) -> None:
    db.run(lambda uow: uow.ledger.credit(accounts.pending, 7))
    balances = db.run(lambda uow: uow.ledger.balances(accounts, lock=True))
    assert (balances.available, balances.pending, balances.debt) == (0, 7, 0)


def _delete_system_account(uow: UnitOfWork, purpose: Purpose) -> None:
    sql = uow.ledger._sql  # type: ignore[attr-defined]  # test-only raw access
    sql.run_text(
        "DELETE FROM account WHERE member_id IS NULL AND purpose = " + f"'{purpose.value}'"
    )


def _raw(db: SqlDatabase, statement: str) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(statement)]


def test_member_balances_are_read_by_member(db: SqlDatabase) -> None:
    ann, accounts = add_member(db, "ann")
    bob, _ = add_member(db, "bob")
    db.run(lambda uow: uow.ledger.credit(accounts.available, 70))
    db.run(lambda uow: uow.ledger.debit(accounts.debt, 5, None))
    mine = db.run(lambda uow: uow.ledger.member_balances(ann.id), write=False)
    assert (mine.available, mine.pending, mine.debt) == (70, 0, -5)
    theirs = db.run(lambda uow: uow.ledger.member_balances(bob.id), write=False)
    assert (theirs.available, theirs.pending, theirs.debt) == (0, 0, 0)
