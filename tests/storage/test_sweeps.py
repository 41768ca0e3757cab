"""The release and expiry sweeps commit member by member, and set an inconsistent lot aside
(logged) without holding back anyone else's points; an unbalanced journal is refused."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from core.commands import AwardPoints, RecordPurchase
from core.ledger import UnbalancedJournal
from core.loyalty import Loyalty
from core.model import Posting, Purpose
from core.results import SweepResult
from storage.database import SqlDatabase
from tests.storage.helpers import add_member, new_journal
from tests.storage.ledger_checks import ManualClock, make_program, person

T = TypeVar("T")


class CountingDatabase:
    """The real database, counting the write transactions it runs."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.writes = 0

    def run(self, work: Callable[[Any], T], *, write: bool = True) -> T:
        self.writes += write
        return self.db.run(work, write=write)


def set_balance(db: SqlDatabase, member_id: int, purpose: str, balance: int) -> None:
    """Hand-edit a cached balance: the kind of damage the sweeps must survive."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE account SET balance = {balance} WHERE member_id = {member_id}"
            f" AND purpose = '{purpose}'"
        )


def available_and_pending(db: SqlDatabase, member_id: int) -> tuple[int, int]:
    """Cached balances, read directly (the ledger checks would refuse the hand edit)."""

    def read(uow: Any) -> tuple[int, int]:
        balances = uow.ledger.balances(uow.members.accounts(member_id))
        return balances.available, balances.pending

    return db.run(read, write=False)


def shop(db: SqlDatabase) -> tuple[Loyalty, CountingDatabase, ManualClock]:
    counting, clock = CountingDatabase(db), ManualClock()
    return Loyalty(counting, make_program(signup=False), clock), counting, clock  # type: ignore[arg-type]


def test_release_commits_per_member_and_sets_an_inconsistent_lot_aside(
    db: SqlDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    app, counting, clock = shop(db)
    ann, bob, cat = (app.enroll(person(name)).member.id for name in ("ann", "bob", "cat"))
    for member, receipt, minor in [(ann, "A-1", 10_00), (ann, "A-2", 20_00), (bob, "B-1", 30_00),
                                   (cat, "C-1", 40_00)]:  # fmt: skip
        app.record_purchase(RecordPurchase(member_id=member, receipt=receipt, amount_minor=minor))
    set_balance(db, ann, "pending", 10)  # ann's pending account covers A-1 but not A-2
    clock.advance(timedelta(days=4))  # the hold ends with its third day in Berlin
    counting.writes = 0
    with caplog.at_level(logging.ERROR, logger="core.sweeps"):
        result = app.release_due()
    assert result == SweepResult(lots=3, points=80, candidates=4, set_aside=1)
    # One transaction per member; ann's failed as a whole, then went lot by lot.
    assert counting.writes == 3 + 2
    (message,) = caplog.messages
    assert message.startswith("release sweep: set aside lot ") and f"of member {ann}" in message
    assert available_and_pending(db, bob) == (30, 0)
    assert available_and_pending(db, cat) == (40, 0)
    assert available_and_pending(db, ann) == (10, 0)  # A-1 released; A-2 waits for a look
    again = app.release_due()  # the bad lot is offered again, and set aside again
    assert again == SweepResult(lots=0, points=0, candidates=1, set_aside=1)


def test_expiry_sets_an_inconsistent_lot_aside_and_expires_the_rest(
    db: SqlDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    app, _, clock = shop(db)
    ann, bob = (app.enroll(person(name)).member.id for name in ("ann", "bob"))
    for member in (ann, bob):
        app.award(AwardPoints(member_id=member, key=f"gw-{member}", reason="hi", points=50))
    set_balance(db, ann, "available", 20)
    clock.advance(timedelta(days=11))
    with caplog.at_level(logging.ERROR, logger="core.sweeps"):
        result = app.expire_due()
    assert result == SweepResult(lots=1, points=50, candidates=2, set_aside=1)
    assert "expiry sweep: set aside lot" in caplog.text
    assert available_and_pending(db, bob) == (0, 0)
    assert available_and_pending(db, ann) == (20, 0)


def test_add_postings_refuses_a_journal_that_does_not_sum_to_zero(db: SqlDatabase) -> None:
    member, accounts = add_member(db, "ann")

    def unbalanced(uow: Any) -> None:
        journal_id = new_journal(uow, "award:1", member.id)
        issued = uow.ledger.system_account(Purpose.ISSUED_GOODWILL)
        after = uow.ledger.credit(accounts.available, 10)
        uow.ledger.add_postings(
            journal_id, [Posting(issued, -9), Posting(accounts.available, 10, after)]
        )

    with pytest.raises(UnbalancedJournal, match="sum to 1"):
        db.run(unbalanced)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM journal").scalar_one() == 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM posting").scalar_one() == 0
    assert db.run(lambda uow: uow.ledger.balances(accounts).available) == 0
