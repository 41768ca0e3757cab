"""Earning: points for a purchase (rate x tier multiplier) and for actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from core import errors
from core.commands import AwardPoints, RecordPurchase
from core.events import PointsAwarded, PurchaseRecorded
from core.ledger import issue_points, replayed, request_hash
from core.members import get_member
from core.model import JournalKind, Member, NewJournal, Purchase, Purpose
from core.ports import UnitOfWork
from core.program import Program
from core.results import AwardResult, EarnResult
from core.text import check_reason, normalize_receipt


def current_tier(uow: UnitOfWork, program: Program, member_id: int, now: datetime) -> int:
    """Index of the member's tier from spend or points over the rolling window."""
    return program.tier_for(qualifying_value(uow, program, member_id, now))


def qualifying_value(uow: UnitOfWork, program: Program, member_id: int, now: datetime) -> Decimal:
    """Spend (currency units) or points that count towards tiers right now."""
    since = now - timedelta(days=program.tier_qualification.window_days)
    spend_minor, points = uow.purchases.qualifying(member_id, since)
    if program.tier_qualification.measure == "spend":
        return program.from_minor(spend_minor)
    return Decimal(points)


def record_purchase(
    uow: UnitOfWork, program: Program, command: RecordPurchase, now: datetime
) -> EarnResult:
    """Earn points for a purchase receipt, exactly once per receipt."""
    member = get_member(uow, command.member_id)
    receipt = normalize_receipt(command.receipt)
    key = f"earn:{receipt}"
    fingerprint = request_hash(receipt=receipt, amount=command.amount_minor, m=member.id)
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return _replay(uow, program, member, journal.meta, receipt)
    _check_amount(program, command.amount_minor)
    tier_index = current_tier(uow, program, member.id, now)
    tier = program.tiers[tier_index]
    points = program.base_points(command.amount_minor, tier.multiplier)
    hold = program.returns.hold_days
    meta: dict[str, object] = {"ref": receipt, "tier": tier.name, "x": str(tier.multiplier)}
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.EARN,
            key=key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=member.id,
            actor_id=command.actor_id,
            meta=meta,
        )
    )
    debt_paid, lot_id = (0, None)
    if points:
        debt_paid, lot_id = issue_points(
            uow, program, journal_id, member.id, Purpose.ISSUED_PURCHASE, points, now, hold
        )
    uow.purchases.add(
        Purchase(
            receipt=receipt,
            member_id=member.id,
            amount_minor=command.amount_minor,
            points=points,
            lot_id=lot_id,
            journal_id=journal_id,
            occurred_at=now,
        )
    )
    pending_until = now + timedelta(days=hold) if hold and lot_id else None
    uow.domain_events.record(
        PurchaseRecorded(
            occurred_at=now,
            member_id=member.id,
            journal_id=journal_id,
            receipt=receipt,
            amount_minor=command.amount_minor,
            points=points,
            tier=tier.name,
            debt_paid=debt_paid,
            pending_until=pending_until,
            actor_id=command.actor_id,
        )
    )
    return EarnResult(
        member=member,
        receipt=receipt,
        amount_minor=command.amount_minor,
        points=points,
        tier=tier.name,
        multiplier=tier.multiplier,
        pending_until=pending_until,
        debt_paid=debt_paid,
        recorded_at=now,
    )


def award_points(
    uow: UnitOfWork, program: Program, command: AwardPoints, now: datetime
) -> AwardResult:
    """Points for a program action or staff goodwill, available at once."""
    member = get_member(uow, command.member_id)
    points, source = _award_size(program, command)
    command = replace(command, reason=check_reason(command.reason))
    fingerprint = request_hash(m=member.id, p=points, r=command.reason, a=command.action)
    if replayed(uow, command.key, fingerprint) is not None:
        return AwardResult(
            member=member, points=points, reason=command.reason, debt_paid=0, duplicate=True
        )
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.AWARD,
            key=command.key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=member.id,
            actor_id=command.actor_id,
            meta={"ref": command.reason},
        )
    )
    debt_paid, _ = issue_points(uow, program, journal_id, member.id, source, points, now, 0)
    uow.domain_events.record(
        PointsAwarded(
            occurred_at=now,
            member_id=member.id,
            journal_id=journal_id,
            points=points,
            reason=command.reason,
            action=command.action,
            debt_paid=debt_paid,
            actor_id=command.actor_id,
        )
    )
    return AwardResult(member=member, points=points, reason=command.reason, debt_paid=debt_paid)


def _award_size(program: Program, command: AwardPoints) -> tuple[int, Purpose]:
    if command.action is not None:
        points = program.awards.actions.get(command.action)
        if points is None:
            raise errors.UnknownAction(action=command.action, known=sorted(program.awards.actions))
        return points, Purpose.ISSUED_ACTION
    if command.points is None or command.points <= 0:
        raise errors.InvalidAmount(points=command.points)
    if command.points > program.awards.max_points:
        raise errors.AwardTooLarge(points=command.points, maximum=program.awards.max_points)
    return command.points, Purpose.ISSUED_GOODWILL


def _check_amount(program: Program, amount_minor: int) -> None:
    limit = program.earning.max_purchase
    maximum = program.to_minor(limit) if limit is not None else None
    if amount_minor <= 0:
        raise errors.InvalidAmount(amount_minor=amount_minor)
    if maximum is not None and amount_minor > maximum:
        raise errors.PurchaseTooLarge(amount_minor=amount_minor, maximum_minor=maximum)


def _replay(
    uow: UnitOfWork, program: Program, member: Member, meta: dict[str, object], receipt: str
) -> EarnResult:
    purchase = uow.purchases.get(receipt)
    if purchase is None:  # the journal exists, so the purchase row does too
        raise errors.ReceiptNotFound(receipt=receipt)
    hold = program.returns.hold_days
    pending_until = purchase.occurred_at + timedelta(days=hold) if hold else None
    return EarnResult(
        member=member,
        receipt=receipt,
        amount_minor=purchase.amount_minor,
        points=purchase.points,
        tier=str(meta.get("tier", "")),
        multiplier=Decimal(str(meta.get("x", "1"))),
        pending_until=pending_until,
        debt_paid=0,
        recorded_at=purchase.occurred_at,
        duplicate=True,
    )
