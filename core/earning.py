"""Earning: points for a purchase (rate x tier multiplier) and for actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from core import errors
from core.commands import AwardPoints, RecordPurchase
from core.earning_rules import purchase_points
from core.events import PointsAwarded, PurchaseRecorded
from core.ledger import expiry_for, issue_points, release_at, replayed, request_hash
from core.members import get_member
from core.model import JournalKind, Member, NewJournal, Purchase, Purpose
from core.ports import UnitOfWork
from core.program import Program
from core.purchase_details import details_of, hold_days_at, rule_meta
from core.results import AwardResult, EarnResult
from core.text import check_reason, normalize_receipt


def current_tier(
    uow: UnitOfWork, program: Program, member_id: int, now: datetime, *, past: bool = False
) -> int:
    """Index of the member's stored tier (`core.tiers`), else the one their spend or points
    over the rolling window reach.

    `past`: `now` is a purchase's own earlier time, so later purchases do not count, and the
    tier is the one that window reaches (the stored tier is today's).
    """
    if not past:
        status = uow.tiers.get(member_id)
        stored = program.tier_index(status.tier_id) if status is not None else None
        if stored is not None:
            return stored
    return program.tier_for(qualifying_value(uow, program, member_id, now, past=past))


def qualifying_value(
    uow: UnitOfWork, program: Program, member_id: int, now: datetime, *, past: bool = False
) -> Decimal:
    """Spend (currency units) or points that count towards tiers at `now`."""
    since = now - timedelta(days=program.tier_qualification.window_days)
    until = now if past else None
    spend_minor, points = uow.purchases.qualifying(member_id, since, until)
    if program.tier_qualification.measure == "spend":
        return program.from_minor(spend_minor)
    return Decimal(points)


def record_purchase(
    uow: UnitOfWork, program: Program, command: RecordPurchase, now: datetime
) -> EarnResult:
    """Earn points for a purchase receipt, exactly once per receipt, by the rules of its time."""
    member = get_member(uow, command.member_id)
    receipt = normalize_receipt(command.receipt)
    key = f"earn:{receipt}"
    fingerprint = request_hash(
        receipt=receipt, amount=command.amount_minor, m=member.id, **details_of(command)
    )
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return _replay(uow, program, member, journal.meta, receipt)
    check_amount(program, command.amount_minor)
    at = command.occurred_at or now
    tier = program.tiers[current_tier(uow, program, member.id, at, past=at < now)]
    earned = purchase_points(
        program,
        tier.multiplier,
        amount_minor=command.amount_minor,
        at=at,
        store=command.store,
        channel=command.channel,
        items=command.items,
    )
    points = earned.points
    hold = hold_days_at(program, at, now)
    meta: dict[str, object] = {"ref": receipt, "tier": tier.name, "x": str(tier.multiplier)}
    expired = command.occurred_at is not None and expiry_for(program, at) <= now
    meta |= rule_meta(command, earned, hold, expired)
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.EARN,
            key=key,
            request_hash=fingerprint,
            effective_at=at,
            member_id=member.id,
            actor_id=command.actor_id,
            meta=meta,
        )
    )
    debt_paid, lot_id = (0, None)
    if points:
        debt_paid, lot_id = issue_points(
            uow, program, journal_id, member.id, Purpose.ISSUED_PURCHASE, points, at, hold
        )
    uow.purchases.add(
        Purchase(
            receipt=receipt,
            member_id=member.id,
            amount_minor=command.amount_minor,
            points=points,
            lot_id=lot_id,
            journal_id=journal_id,
            occurred_at=at,
            store=command.store,
            channel=command.channel,
        )
    )
    pending_until = release_at(program, at, hold) if hold and lot_id else None
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
            purchased_at=at,
            store=command.store,
            channel=command.channel,
            items=command.items,
            quiet=command.quiet,
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
        recorded_at=at,
        lot_id=lot_id,
        promotion=earned.promotion,
        category_bonus=earned.category_bonus,
        earns=earned.earns,
        expired=expired and lot_id is not None,
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


def check_amount(program: Program, amount_minor: int) -> None:
    """Refuse a purchase amount of zero or over the program's maximum."""
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
    hold = program.returns.hold_days if purchase.lot_id is not None else 0
    pending_until = release_at(program, purchase.occurred_at, hold) if hold else None
    if (
        "hold" in meta and purchase.lot_id is not None
    ):  # recorded since purchases may be late: the hold they actually got
        days = meta["hold"]
        pending_until = purchase.occurred_at + timedelta(days=int(str(days))) if days else None
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
        lot_id=purchase.lot_id,
        promotion=str(meta["promo"]) if "promo" in meta else None,
        category_bonus=int(str(meta.get("bonus", 0))),
        earns=meta.get("earns", True) is not False,
        expired=meta.get("expired") is True and purchase.lot_id is not None,
    )
