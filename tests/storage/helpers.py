"""Small builders shared by the storage tests."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from core.model import (
    Identity,
    JournalKind,
    LotState,
    Member,
    MemberAccounts,
    NewJournal,
    NewLot,
    Role,
)
from core.outbox import OutboxMessage, Recipient
from core.ports import UnitOfWork
from storage.database import SqlDatabase

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def identity(name: str, platform: str = "telegram") -> Identity:
    """A chat identity whose username and display name derive from `name`."""
    return Identity(
        platform=platform, external_id=f"id-{name}", display_name=name.title(), username=name
    )


def message(member_id: int, key: str, dedupe_key: str, **params: object) -> OutboxMessage:
    """A transactional outbox message for a member."""
    return OutboxMessage(
        recipient=Recipient.member(member_id), key=key, dedupe_key=dedupe_key, params=params
    )


def add_member(
    db: SqlDatabase, name: str, code: str | None = None, platform: str = "telegram"
) -> tuple[Member, MemberAccounts]:
    """Enroll a member; its code defaults to one derived from the name."""

    def work(uow: UnitOfWork) -> tuple[Member, MemberAccounts]:
        member = uow.members.add(
            code or f"C-{name.upper()}", identity(name, platform), Role.MEMBER, T0, None
        )
        return member, uow.members.accounts(member.id)

    return db.run(work)


def new_journal(uow: UnitOfWork, key: str, member_id: int | None = None, **meta: object) -> int:
    """Record a journal with this key; its id."""
    return uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.EARN,
            key=key,
            request_hash=f"hash-{key}",
            effective_at=T0,
            member_id=member_id,
            meta=dict(meta),
        )
    )


def lot(
    member_id: int,
    journal_id: int,
    amount: int,
    expires_in_days: int,
    state: LotState = LotState.AVAILABLE,
    available_in_days: int = 0,
) -> NewLot:
    """A lot earned at T0."""
    return NewLot(
        member_id=member_id,
        journal_id=journal_id,
        amount=amount,
        state=state,
        earned_at=T0,
        available_at=T0 + timedelta(days=available_in_days),
        expires_at=T0 + timedelta(days=expires_in_days),
    )


def in_processes(target: Callable[..., None], args: tuple[Any, ...], count: int) -> list[Any]:
    """Run `target(*args, start, results)` in `count` spawned processes that wait for each
    other at the `start` barrier; what each put on `results`."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(count)
    results: multiprocessing.Queue[Any] = ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, start, results)) for _ in range(count)]
    for worker in workers:
        worker.start()
    found = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    return found
