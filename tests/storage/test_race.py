"""Across OS processes, concurrent debits never spend more than the balance."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier

from storage.database import SqlDatabase
from tests.storage.helpers import add_member, in_processes

PROCESSES = 8
DEBITS = 25
AMOUNT = 7
BALANCE = 1000


def _debit_many(
    url: str, account_id: int, start: Barrier, results: multiprocessing.Queue[int]
) -> None:
    """In a child process: try DEBITS debits, one transaction each; report the successes."""
    db = SqlDatabase.from_url(url)
    try:
        db.run(lambda uow: uow.members.by_id(0), write=False)  # connect before the start line
        start.wait()
        successes = sum(
            db.run(lambda uow: uow.ledger.debit(account_id, AMOUNT)) is not None
            for _ in range(DEBITS)
        )
    finally:
        db.dispose()
    results.put(successes)


def test_concurrent_debits_across_processes(db: SqlDatabase, migrated_url: str) -> None:
    _, accounts = add_member(db, "ann")
    db.run(lambda uow: uow.ledger.credit(accounts.available, BALANCE))
    successes = sum(in_processes(_debit_many, (migrated_url, accounts.available), PROCESSES))
    balance = db.run(lambda uow: uow.ledger.balances(accounts).available)
    assert successes * AMOUNT <= BALANCE
    assert balance == BALANCE - AMOUNT * successes
    # Every debit that could succeed did: retries absorbed the contention.
    assert successes == BALANCE // AMOUNT
