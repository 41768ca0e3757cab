"""Bonus points: challenge rewards and referral rewards, given and taken back through the ledger.

A bonus is an award journal keyed by its business event (`challenge:<id>:<member>:<period>:<n>`,
`referral:<friend>:...`), so a handler that runs twice gives it once. Taking it back is a
claw-back journal on the ledger's refund path (`core.clawback`): from the bonus's own lot
first, then other lots, and what was already spent becomes a debt or is written off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.clawback import apply_claw_back, plan_claw_back
from core.events import BonusTakenBack, PointsAwarded
from core.ledger import issue_points, locked_balances, release_at, replayed, request_hash
from core.model import JournalKind, NewJournal, Purpose
from core.ports import UnitOfWork
from core.program import Program


@dataclass(frozen=True, kw_only=True)
class Bonus:
    """Points given: the journal, the lot they sit in (None if all paid a debt), pending until."""

    journal_id: int
    lot_id: int | None
    points: int
    pending_until: datetime | None
    duplicate: bool = False


def give_bonus(
    uow: UnitOfWork,
    program: Program,
    *,
    member_id: int,
    key: str,
    points: int,
    source: Purpose,
    reason: str,
    hold_days: int,
    now: datetime,
) -> Bonus:
    """Issue `points` to a member once per `key` (pending for `hold_days`, if any)."""
    fingerprint = request_hash(m=member_id, p=points, r=reason)
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return Bonus(
            journal_id=journal.id, lot_id=None, points=points, pending_until=None, duplicate=True
        )
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.AWARD,
            key=key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=member_id,
            meta={"ref": reason},
        )
    )
    debt_paid, lot_id = issue_points(
        uow, program, journal_id, member_id, source, points, now, hold_days
    )
    uow.domain_events.record(
        PointsAwarded(
            occurred_at=now,
            member_id=member_id,
            journal_id=journal_id,
            points=points,
            reason=reason,
            debt_paid=debt_paid,
        )
    )
    pending_until = release_at(program, now, hold_days) if hold_days and lot_id else None
    return Bonus(journal_id=journal_id, lot_id=lot_id, points=points, pending_until=pending_until)


def take_back_bonus(
    uow: UnitOfWork,
    program: Program,
    *,
    member_id: int,
    bonus_journal_id: int,
    lot_id: int | None,
    points: int,
    source: Purpose,
    reason: str,
    awarded_at: datetime,
    now: datetime,
) -> int:
    """Take a bonus back once (keyed by its journal); the claw-back journal's id."""
    key = f"clawback:{bonus_journal_id}"
    fingerprint = request_hash(j=bonus_journal_id, p=points)
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return journal.id
    accounts, balances = locked_balances(uow, member_id)
    plan = plan_claw_back(uow, member_id, lot_id, points, balances)
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.CLAWBACK,
            key=key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=member_id,
            reverses_id=bonus_journal_id,
            meta={
                "ref": reason,
                "points": points,
                "pending": plan.from_pending,
                "available": plan.from_available,
                "expired": plan.expired,
                "shortfall": plan.shortfall,
            },
        )
    )
    if points:
        write_off = program.refunds.when_spent == "write_off"
        apply_claw_back(uow, journal_id, accounts, plan, source, write_off)
    uow.domain_events.record(
        BonusTakenBack(
            occurred_at=now,
            member_id=member_id,
            journal_id=journal_id,
            bonus_journal_id=bonus_journal_id,
            points=points,
            reason=reason,
            awarded_at=awarded_at,
        )
    )
    return journal_id
