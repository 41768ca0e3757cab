"""Time-driven ledger work: releasing pending points and expiring due lots.

Each lot moves in its own journal keyed by the lot, so a rerun is a no-op.
"""

from __future__ import annotations

from datetime import datetime

from core.ledger import LedgerInconsistent, locked_balances, request_hash
from core.model import JournalKind, Lot, LotDraw, LotState, NewJournal, Posting, Purpose
from core.ports import UnitOfWork
from core.results import SweepResult


def release_member_due(uow: UnitOfWork, member_id: int, now: datetime) -> SweepResult:
    """Make one member's pending points available once their return window has passed."""
    return _release(uow, uow.ledger.due_pending_lots(now, member_id, limit=1000), now)


def release_due(uow: UnitOfWork, now: datetime, limit: int) -> SweepResult:
    """Release up to `limit` lots whose return window has passed, for every member."""
    return _release(uow, uow.ledger.due_pending_lots(now, None, limit), now)


def _release(uow: UnitOfWork, due: list[Lot], now: datetime) -> SweepResult:
    lots, points = 0, 0
    for candidate in due:
        released = release_lot(uow, candidate.id, now)
        lots, points = lots + (released is not None), points + (released or 0)
    return SweepResult(lots, points)


def release_lot(uow: UnitOfWork, lot_id: int, now: datetime) -> int | None:
    """Move one pending lot to available; the points moved, or None if it was not pending."""
    lot = uow.ledger.lot(lot_id)
    accounts, _ = locked_balances(uow, lot.member_id)
    lot = uow.ledger.lot(lot_id)  # re-read under the lock: a refund may have changed it
    if lot.state is not LotState.PENDING:
        return None
    uow.ledger.make_available([lot.id])
    if lot.remaining == 0:  # fully refunded inside the return window
        return 0
    journal_id = uow.ledger.add_journal(
        NewJournal(
            JournalKind.RELEASE, f"release:{lot.id}", request_hash(lot=lot.id), now, lot.member_id
        )
    )
    available_after = uow.ledger.credit(accounts.available, lot.remaining)
    pending_after = uow.ledger.debit(accounts.pending, lot.remaining)
    if pending_after is None:
        raise LedgerInconsistent(f"lot {lot.id}: pending balance below the lot")
    uow.ledger.add_postings(
        journal_id,
        [
            Posting(accounts.available, lot.remaining, available_after),
            Posting(accounts.pending, -lot.remaining, pending_after),
        ],
    )
    return lot.remaining


def expire_due(uow: UnitOfWork, now: datetime, limit: int) -> SweepResult:
    """Expire what is left of up to `limit` available lots due at or before `now`."""
    lots, points = 0, 0
    for candidate in uow.ledger.due_expiring_lots(now, limit):
        expired = expire_lot(uow, candidate.id, now)
        lots, points = lots + (expired > 0), points + expired
    return SweepResult(lots, points)


def expire_lot(uow: UnitOfWork, lot_id: int, now: datetime) -> int:
    """Move what remains of one due lot to the expired account; the points moved."""
    lot = uow.ledger.lot(lot_id)
    accounts, _ = locked_balances(uow, lot.member_id)
    lot = uow.ledger.lot(lot_id)  # re-read under the lock: a redemption may have drawn it
    if lot.remaining == 0 or lot.state is not LotState.AVAILABLE or lot.expires_at > now:
        return 0
    journal_id = uow.ledger.add_journal(
        NewJournal(
            JournalKind.EXPIRE,
            f"expire:{lot.id}",
            request_hash(lot=lot.id),
            now,
            lot.member_id,
            meta={"ref": lot.expires_at.date().isoformat()},
        )
    )
    balance_after = uow.ledger.debit(accounts.available, lot.remaining)
    if balance_after is None:
        raise LedgerInconsistent(f"lot {lot.id}: available balance below the lot")
    uow.ledger.draw(journal_id, [LotDraw(lot.id, lot.remaining)], "expire")
    uow.ledger.add_postings(
        journal_id,
        [
            Posting(accounts.available, -lot.remaining, balance_after),
            Posting(uow.ledger.system_account(Purpose.EXPIRED), lot.remaining),
        ],
    )
    return lot.remaining
