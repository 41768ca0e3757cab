"""Refunds: take back the points a purchase earned, per the program's policy.

Inside the return window the pending lot is voided; afterwards the points come back from
the purchase's own lot, then from other lots first-expiring-first, and whatever the member
has already spent becomes a debt or is written off. Nothing is ever silently dropped.
"""

from __future__ import annotations

from datetime import datetime

from core import errors
from core.clawback import apply_claw_back, plan_claw_back
from core.commands import RefundPurchase
from core.events import PurchaseRefunded
from core.ledger import locked_balances, replayed, request_hash
from core.members import get_member
from core.model import JournalKind, Member, NewJournal, Purchase, Purpose
from core.ports import UnitOfWork
from core.program import Program
from core.results import RefundResult
from core.text import normalize_receipt


def refund_purchase(
    uow: UnitOfWork, program: Program, command: RefundPurchase, now: datetime
) -> RefundResult:
    """Refund all or part of a purchase, exactly once per refund id."""
    receipt = normalize_receipt(command.receipt)
    key = f"refund:{command.refund_id}"
    fingerprint = request_hash(receipt=receipt, amount=command.amount_minor)
    purchase = _purchase(uow, receipt)
    member = get_member(uow, purchase.member_id)
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return _result(receipt, member, journal.meta, program, duplicate=True)
    accounts, balances = locked_balances(uow, member.id)
    # Asked again under the lock: the same refund may have been running in another
    # transaction, which held the lock until it committed; replay its result.
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return _result(receipt, member, journal.meta, program, duplicate=True)
    purchase = _purchase(uow, receipt)  # re-read under the lock
    amount = _refund_amount(purchase, command.amount_minor)
    # Cumulative rounding: a purchase refunded in parts gives back exactly its points.
    refunded_after = purchase.refunded_minor + amount
    points = purchase.points * refunded_after // purchase.amount_minor - purchase.refunded_points
    plan = plan_claw_back(
        uow, member.id, purchase.lot_id, points, balances, purchase.refunded_points
    )
    meta: dict[str, object] = {
        "ref": receipt,
        "amount": amount,
        "points": points,
        "pending": plan.from_pending,
        "available": plan.from_available,
        "expired": plan.expired,
        "shortfall": plan.shortfall,
    }
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.REFUND,
            key=key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=member.id,
            actor_id=command.actor_id,
            reverses_id=purchase.journal_id,
            meta=meta,
        )
    )
    if points:
        write_off = program.refunds.when_spent == "write_off"
        apply_claw_back(uow, journal_id, accounts, plan, Purpose.ISSUED_PURCHASE, write_off)
    uow.purchases.add_refund(receipt, amount, points)
    uow.domain_events.record(
        PurchaseRefunded(
            occurred_at=now,
            member_id=member.id,
            journal_id=journal_id,
            purchase_journal_id=purchase.journal_id,
            receipt=receipt,
            refund_id=command.refund_id,
            amount_minor=amount,
            points=points,
            shortfall=plan.shortfall,
            actor_id=command.actor_id,
        )
    )
    return _result(receipt, member, meta, program, duplicate=False)


def _purchase(uow: UnitOfWork, receipt: str) -> Purchase:
    purchase = uow.purchases.get(receipt)
    if purchase is None:
        raise errors.ReceiptNotFound(receipt=receipt)
    return purchase


def _refund_amount(purchase: Purchase, requested: int | None) -> int:
    refundable = purchase.amount_minor - purchase.refunded_minor
    if refundable <= 0:
        raise errors.NothingToRefund(receipt=purchase.receipt)
    amount = refundable if requested is None else requested
    if amount <= 0:
        raise errors.InvalidAmount(amount_minor=amount)
    if amount > refundable:
        raise errors.RefundTooLarge(amount_minor=amount, maximum_minor=refundable)
    return amount


def _result(
    receipt: str, member: Member, meta: dict[str, object], program: Program, duplicate: bool
) -> RefundResult:
    def number(name: str) -> int:
        value = meta.get(name, 0)
        return value if isinstance(value, int) else 0

    return RefundResult(
        receipt=receipt,
        member=member,
        amount_minor=number("amount"),
        points=number("points"),
        from_pending=number("pending"),
        from_available=number("available"),
        shortfall=number("shortfall"),
        policy=program.refunds.when_spent,
        duplicate=duplicate,
    )
