"""Setting up members for a measurement: enrolled through the core, funded through the ports.

Funding goes through the repositories (one journal, many lots) rather than one core journal
per lot: it keeps the ledger consistent (cached balance = what the lots hold) while seeding
thousands of lots in a second or two, even on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import cast

from core.ledger import expiry_for
from core.loyalty import Loyalty
from core.model import (
    Identity,
    JournalKind,
    LotState,
    NewJournal,
    NewLot,
    Posting,
    Purchase,
    Purpose,
)
from core.ports import UnitOfWork
from core.program import Program
from storage.database import SqlDatabase


@dataclass(frozen=True)
class FixedClock:
    """`core.ports.Clock` that never moves."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


def enroll_pool(loyalty: Loyalty, label: str, count: int) -> list[int]:
    """Enroll `count` new members through the core; their ids."""
    ids = []
    for i in range(count):
        identity = Identity(
            platform="bench", external_id=f"{label}-{i}", display_name=f"{label} {i}"
        )
        ids.append(loyalty.enroll(identity).member.id)
    return ids


def fund_for_redeeming(
    loyalty: Loyalty, member_ids: list[int], points_each: int, lot_points: int
) -> None:
    """Give each member `points_each` available points spread over lots of varied size."""
    now = loyalty.clock.now()
    for member_id in member_ids:
        lots = []
        left, i = points_each, 0
        while left > 0:
            # Sizes from 0.5x to 1.5x the average, so a redemption draws one to three lots.
            amount = min(left, lot_points // 2 + (i * 37) % (lot_points + 1))
            earned = now - timedelta(hours=i * 7)  # distinct expiry dates: a real FEFO order
            lots.append((amount, earned))
            left -= amount
            i += 1
        loyalty.db.run(partial(_fund, program=loyalty.program, member_id=member_id, lots=lots))


def _fund(
    uow: UnitOfWork, *, program: Program, member_id: int, lots: list[tuple[int, datetime]]
) -> None:
    now = max(earned for _, earned in lots)
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.AWARD,
            key=f"bench-fund:{member_id}",
            request_hash="-",
            effective_at=now,
            member_id=member_id,
        )
    )
    total = sum(amount for amount, _ in lots)
    accounts = uow.members.accounts(member_id)
    after = uow.ledger.credit(accounts.available, total)
    source = uow.ledger.system_account(Purpose.ISSUED_GOODWILL)
    uow.ledger.add_postings(
        journal_id, [Posting(source, -total), Posting(accounts.available, total, after)]
    )
    for amount, earned in lots:
        uow.ledger.add_lot(
            NewLot(
                member_id=member_id,
                journal_id=journal_id,
                amount=amount,
                state=LotState.AVAILABLE,
                earned_at=earned,
                available_at=earned,
                expires_at=expiry_for(program, earned),
            )
        )


def member_with_lots(loyalty: Loyalty, lots: int) -> int:
    """A member with `lots` purchase lots over the last 300 days (so most are released)."""
    (member_id,) = enroll_pool(loyalty, "heavy", 1)
    loyalty.db.run(lambda uow: _purchases(uow, loyalty, member_id, lots))
    # Statistics, as a deployment's autovacuum would have them for a table this size: without
    # them PostgreSQL plans the next-expiry lot query for an empty table.
    database = cast(SqlDatabase, loyalty.db)
    database.run_sql(lambda sql: sql.run_text("ANALYZE"))
    return member_id


def _purchases(uow: UnitOfWork, loyalty: Loyalty, member_id: int, count: int) -> None:
    program, now = loyalty.program, loyalty.clock.now()
    hold = timedelta(days=program.returns.hold_days)
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.EARN,
            key=f"bench-heavy:{member_id}",
            request_hash="-",
            effective_at=now,
            member_id=member_id,
        )
    )
    totals = {LotState.AVAILABLE: 0, LotState.PENDING: 0}
    step = timedelta(days=300) / count
    for i in range(count):
        earned = now - step * (i + 1)
        state = LotState.AVAILABLE if earned + hold <= now else LotState.PENDING
        points = 3 + i % 9
        lot_id = uow.ledger.add_lot(
            NewLot(
                member_id=member_id,
                journal_id=journal_id,
                amount=points,
                state=state,
                earned_at=earned,
                available_at=earned + hold,
                expires_at=expiry_for(program, earned),
            )
        )
        uow.purchases.add(
            Purchase(
                receipt=f"heavy-{member_id}-{i}",
                member_id=member_id,
                amount_minor=points * 100,
                points=points,
                lot_id=lot_id,
                journal_id=journal_id,
                occurred_at=earned,
            )
        )
        totals[state] += points
    accounts = uow.members.accounts(member_id)
    postings = [Posting(uow.ledger.system_account(Purpose.ISSUED_PURCHASE), -sum(totals.values()))]
    for account, state in ((accounts.available, LotState.AVAILABLE),
                           (accounts.pending, LotState.PENDING)):  # fmt: skip
        if totals[state]:
            after = uow.ledger.credit(account, totals[state])
            postings.append(Posting(account, totals[state], after))
    uow.ledger.add_postings(journal_id, postings)
