"""Ledger building blocks shared by the services: idempotency, issuing and drawing lots.

Every function here works inside one unit of work; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from core.errors import IdempotencyConflict
from core.model import (
    Balances,
    LotDraw,
    LotState,
    MemberAccounts,
    NewLot,
    Posting,
    Purpose,
    RecordedJournal,
)
from core.ports import UnitOfWork
from core.program import Program


class LedgerInconsistent(RuntimeError):
    """Lots no longer cover a balance: a bug or a hand-edited database, never user error."""


class UnbalancedJournal(LedgerInconsistent):
    """A journal's postings do not sum to zero: refused before anything is written."""


def request_hash(**fields: object) -> str:
    """A stable fingerprint of a request, to tell a retry from a different request."""
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def replayed(uow: UnitOfWork, key: str, fingerprint: str) -> RecordedJournal | None:
    """The journal already recorded under `key`, or None; a different request conflicts."""
    journal = uow.ledger.find_journal(key)
    if journal is None:
        return None
    if journal.request_hash != fingerprint:
        # `ref` is the business reference without the key's kind prefix ("earn:R-1" -> "R-1").
        ref = key.split(":", 1)[-1]
        raise IdempotencyConflict(key=key, ref=ref, recorded_at=journal.effective_at)
    return journal


def issue_points(
    uow: UnitOfWork,
    program: Program,
    journal_id: int,
    member_id: int,
    source: Purpose,
    points: int,
    now: datetime,
    hold_days: int,
) -> tuple[int, int | None]:
    """Issue points to a member: pay off any debt first, the rest becomes a new lot.

    Returns (debt paid, lot id or None when everything went to the debt).
    """
    accounts = uow.members.accounts(member_id)
    balances = uow.ledger.balances(accounts, lock=True)
    debt_paid = min(points, -balances.debt)
    rest = points - debt_paid
    pending = hold_days > 0
    target = accounts.pending if pending else accounts.available
    postings = [Posting(uow.ledger.system_account(source), -points)]
    # Credits in ascending account id order (available < pending < debt) avoid deadlocks.
    if rest:
        postings.append(Posting(target, rest, uow.ledger.credit(target, rest)))
    if debt_paid:
        postings.append(
            Posting(accounts.debt, debt_paid, uow.ledger.credit(accounts.debt, debt_paid))
        )
    uow.ledger.add_postings(journal_id, postings)
    if not rest:
        return debt_paid, None
    lot = NewLot(
        member_id=member_id,
        journal_id=journal_id,
        amount=rest,
        state=LotState.PENDING if pending else LotState.AVAILABLE,
        earned_at=now,
        available_at=release_at(program, now, hold_days),
        expires_at=expiry_for(program, now),
    )
    return debt_paid, uow.ledger.add_lot(lot)


def release_at(program: Program, earned_at: datetime, hold_days: int) -> datetime:
    """When points held for a return window of `hold_days` become available: at the end of
    the window's last day in the program's time zone (immediately without a hold)."""
    return program.end_of_day(earned_at, hold_days) if hold_days > 0 else earned_at


def expiry_for(program: Program, earned_at: datetime) -> datetime:
    """When a lot earned at `earned_at` expires: end of day, program time zone."""
    lifetime = program.expiry.lot_lifetime_days
    if lifetime is None:
        return datetime(9999, 12, 31, tzinfo=earned_at.tzinfo)
    return program.end_of_day(earned_at, lifetime)


def plan_fefo_draw(
    uow: UnitOfWork, member_id: int, amount: int, skip_lot: int | None = None
) -> list[LotDraw]:
    """Which available lots give `amount` points, first-expiring-first."""
    draws: list[LotDraw] = []
    left = amount
    cursor: tuple[datetime, int] | None = None
    page = 4  # most draws need one to three lots; grow the page only for large ones
    while left > 0:
        lots = uow.ledger.drawable_lots(member_id, cursor, limit=page)
        page = min(page * 2, 64)
        if not lots:
            raise LedgerInconsistent(f"member {member_id}: lots are {left} points short")
        for lot in lots:
            if lot.id == skip_lot:
                continue
            take = min(left, lot.remaining)
            draws.append(LotDraw(lot.id, take))
            left -= take
            if not left:
                break
        cursor = (lots[-1].expires_at, lots[-1].id)
    return draws


def locked_balances(uow: UnitOfWork, member_id: int) -> tuple[MemberAccounts, Balances]:
    """A member's accounts and balances, row-locked for the rest of the transaction."""
    accounts = uow.members.accounts(member_id)
    return accounts, uow.ledger.balances(accounts, lock=True)
