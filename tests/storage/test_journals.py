"""Journals: found by key, unique per key, and a lost race on a key is retried."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError as SaIntegrityError

from core.model import JournalKind, NewJournal
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member, new_journal


def test_a_journal_is_found_by_its_key(db: SqlDatabase) -> None:
    member, _ = add_member(db, "ann")
    journal = NewJournal(
        kind=JournalKind.REDEEM,
        key="redeem:n1",
        request_hash="abc",
        effective_at=T0,
        member_id=member.id,
        actor_id=member.id,
        reverses_id=None,
        meta={"ref": "x", "n": 2},
    )
    journal_id = db.run(lambda uow: uow.ledger.add_journal(journal))
    found = db.run(lambda uow: uow.ledger.find_journal("redeem:n1"), write=False)
    assert found is not None
    assert (found.id, found.kind, found.key, found.request_hash) == (
        journal_id,
        "redeem",
        "redeem:n1",
        "abc",
    )
    assert found.effective_at == T0 and found.effective_at.tzinfo is not None
    assert (found.member_id, found.meta) == (member.id, {"ref": "x", "n": 2})
    assert db.run(lambda uow: uow.ledger.find_journal("redeem:other")) is None


def test_journal_keys_are_unique(db: SqlDatabase) -> None:
    db.run(lambda uow: new_journal(uow, "earn:r1"))
    once = SqlDatabase(db.engine, attempts=1)
    with pytest.raises(Exception) as caught:
        once.run(lambda uow: new_journal(uow, "earn:r1"))
    assert "journal" in str(caught.value) or isinstance(caught.value, SaIntegrityError)
    assert _count(db) == 1


def test_a_lost_race_on_a_journal_key_is_retried(db: SqlDatabase) -> None:
    """The loser's re-run finds the winner's journal (as the core's replay check does)."""
    winner = db.run(lambda uow: new_journal(uow, "earn:r2"))
    calls = 0

    def work(uow: UnitOfWork) -> int:
        nonlocal calls
        calls += 1
        if calls > 1 and (found := uow.ledger.find_journal("earn:r2")) is not None:
            return found.id
        return new_journal(uow, "earn:r2")  # as if it looked before the winner committed

    assert db.run(work) == winner
    assert calls == 2
    assert _count(db) == 1


def _count(db: SqlDatabase) -> int:
    with db.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM journal").scalar_one())
