"""History: a member's postings, newest first, paged, with the journal's reference."""

from __future__ import annotations

from datetime import timedelta

from core.model import HistoryRow, JournalKind, MemberAccounts, NewJournal, Posting, Purpose
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member


def _move(
    db: SqlDatabase,
    key: str,
    kind: JournalKind,
    legs: list[tuple[int, int]],
    day: int,
    **meta: object,
) -> int:
    def work(uow: UnitOfWork) -> int:
        journal_id = uow.ledger.add_journal(
            NewJournal(
                kind=kind,
                key=key,
                request_hash="h",
                effective_at=T0 + timedelta(days=day),
                member_id=None,
                meta=dict(meta),
            )
        )
        uow.ledger.add_postings(journal_id, [Posting(account, amount) for account, amount in legs])
        return journal_id

    return db.run(work)


def test_history_is_newest_first_and_paged(db: SqlDatabase) -> None:
    _, ann = add_member(db, "ann")
    _, bob = add_member(db, "bob")
    issued = db.run(lambda uow: uow.ledger.system_account(Purpose.ISSUED_PURCHASE))
    redeemed = db.run(lambda uow: uow.ledger.system_account(Purpose.REDEEMED))
    earn = _move(db, "earn:1", JournalKind.EARN, [(issued, -50), (ann.pending, 50)], 0, ref="R-1")
    release = _move(
        db, "release:1", JournalKind.RELEASE, [(ann.pending, -50), (ann.available, 50)], 1
    )
    _move(db, "earn:2", JournalKind.EARN, [(issued, -9), (bob.available, 9)], 2, ref="R-2")
    redeem = _move(
        db, "redeem:1", JournalKind.REDEEM, [(ann.available, -20), (redeemed, 20)], 3, ref=7
    )

    def page(offset: int, limit: int) -> list[HistoryRow]:
        return db.run(lambda uow: uow.ledger.history(_member_of(uow, ann), offset, limit))

    rows = page(0, 10)
    assert rows == [
        HistoryRow(
            journal_id=redeem,
            kind=JournalKind.REDEEM,
            at=T0 + timedelta(days=3),
            amount=-20,
            purpose=Purpose.AVAILABLE,
            reference="7",
        ),
        HistoryRow(
            journal_id=release,
            kind=JournalKind.RELEASE,
            at=T0 + timedelta(days=1),
            amount=50,
            purpose=Purpose.AVAILABLE,
            reference=None,
        ),
        HistoryRow(
            journal_id=release,
            kind=JournalKind.RELEASE,
            at=T0 + timedelta(days=1),
            amount=-50,
            purpose=Purpose.PENDING,
            reference=None,
        ),
        HistoryRow(
            journal_id=earn,
            kind=JournalKind.EARN,
            at=T0,
            amount=50,
            purpose=Purpose.PENDING,
            reference="R-1",
        ),
    ]
    assert page(1, 2) == rows[1:3]
    assert page(4, 10) == []


def _member_of(uow: UnitOfWork, accounts: MemberAccounts) -> int:
    member = uow.members.by_identity("telegram", "id-ann")
    assert member is not None and uow.members.accounts(member.id) == accounts
    return member.id
