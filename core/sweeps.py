"""Time-driven ledger work: releasing pending points and expiring due lots.

Each lot moves in its own journal keyed by the lot, so a rerun is a no-op. A sweep over every
member commits member by member: one member's lots never wait for a batch of others', and a lot
whose ledger is inconsistent is logged and set aside without holding anyone else back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from core.events import PointsExpired, PointsReleased
from core.ledger import LedgerInconsistent, locked_balances, request_hash
from core.model import JournalKind, Lot, LotDraw, LotState, NewJournal, Posting, Purpose
from core.ports import Database, UnitOfWork
from core.results import SweepResult

log = logging.getLogger(__name__)

# Moves the given lots of one member in one transaction.
MoveLots = Callable[[UnitOfWork, Sequence[int]], SweepResult]


def release_member_due(uow: UnitOfWork, member_id: int, now: datetime) -> SweepResult:
    """Make one member's pending points available once their return window has passed."""
    due = uow.ledger.due_pending_lots(now, member_id, limit=1000)
    return release_lots(uow, [lot.id for lot in due], now)


def release_lots(uow: UnitOfWork, lot_ids: Sequence[int], now: datetime) -> SweepResult:
    """Release the given lots (of one member, so that one lock covers them)."""
    lots, points = 0, 0
    for lot_id in lot_ids:
        released = release_lot(uow, lot_id, now)
        lots, points = lots + (released is not None), points + (released or 0)
    return SweepResult(lots=lots, points=points, candidates=len(lot_ids))


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
            kind=JournalKind.RELEASE,
            key=f"release:{lot.id}",
            request_hash=request_hash(lot=lot.id),
            effective_at=now,
            member_id=lot.member_id,
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
    uow.domain_events.record(
        PointsReleased(
            occurred_at=now,
            member_id=lot.member_id,
            journal_id=journal_id,
            lot_id=lot.id,
            points=lot.remaining,
        )
    )
    return lot.remaining


def expire_lots(uow: UnitOfWork, lot_ids: Sequence[int], now: datetime) -> SweepResult:
    """Expire what is left of the given due lots (of one member)."""
    lots, points = 0, 0
    for lot_id in lot_ids:
        expired = expire_lot(uow, lot_id, now)
        lots, points = lots + (expired > 0), points + expired
    return SweepResult(lots=lots, points=points, candidates=len(lot_ids))


def expire_lot(uow: UnitOfWork, lot_id: int, now: datetime) -> int:
    """Move what remains of one due lot to the expired account; the points moved."""
    lot = uow.ledger.lot(lot_id)
    accounts, _ = locked_balances(uow, lot.member_id)
    lot = uow.ledger.lot(lot_id)  # re-read under the lock: a redemption may have drawn it
    if lot.remaining == 0 or lot.state is not LotState.AVAILABLE or lot.expires_at > now:
        return 0
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.EXPIRE,
            key=f"expire:{lot.id}",
            request_hash=request_hash(lot=lot.id),
            effective_at=now,
            member_id=lot.member_id,
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
    uow.domain_events.record(
        PointsExpired(
            occurred_at=now,
            member_id=lot.member_id,
            journal_id=journal_id,
            lot_id=lot.id,
            points=lot.remaining,
            expired_at=lot.expires_at,
        )
    )
    return lot.remaining


def release_due(db: Database, now: datetime, limit: int) -> SweepResult:
    """Release up to `limit` lots whose return window has passed, one member at a time."""
    due = db.run(lambda uow: uow.ledger.due_pending_lots(now, None, limit), write=False)
    return per_member(db, due, partial(release_lots, now=now), "release")


def expire_due(db: Database, now: datetime, limit: int) -> SweepResult:
    """Expire up to `limit` lots due at or before `now`, one member at a time."""
    due = db.run(lambda uow: uow.ledger.due_expiring_lots(now, limit), write=False)
    return per_member(db, due, partial(expire_lots, now=now), "expiry")


def per_member(db: Database, due: Sequence[Lot], move: MoveLots, what: str) -> SweepResult:
    """Move each member's due lots in a transaction of their own; when one member's lots meet
    an inconsistent ledger, move them lot by lot and set the bad ones aside (logged)."""
    by_member: dict[int, list[int]] = {}
    for lot in due:
        by_member.setdefault(lot.member_id, []).append(lot.id)
    total = SweepResult()
    for member_id, lot_ids in by_member.items():
        try:
            total += db.run(_moving(move, lot_ids))
        except LedgerInconsistent:
            total += _one_by_one(db, member_id, lot_ids, move, what)
    return total


def _one_by_one(
    db: Database, member_id: int, lot_ids: list[int], move: MoveLots, what: str
) -> SweepResult:
    total = SweepResult()
    for lot_id in lot_ids:
        try:
            total += db.run(_moving(move, [lot_id]))
        except LedgerInconsistent as error:
            log.error("%s sweep: set aside lot %d of member %d: %s", what, lot_id, member_id, error)
            total += SweepResult(candidates=1, set_aside=1)
    return total


def _moving(move: MoveLots, lot_ids: Sequence[int]) -> Callable[[UnitOfWork], SweepResult]:
    return lambda uow: move(uow, lot_ids)
