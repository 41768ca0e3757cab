"""Refunds: take back the points a purchase earned, per the program's policy.

Inside the return window the pending lot is voided; afterwards the points come back from
the purchase's own lot, then from other lots first-expiring-first, and whatever the member
has already spent becomes a debt or is written off. Nothing is ever silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import errors
from core.commands import RefundPurchase
from core.ledger import locked_balances, plan_fefo_draw, replayed, request_hash
from core.members import get_member
from core.model import (
    Balances,
    JournalKind,
    LotDraw,
    LotState,
    Member,
    MemberAccounts,
    NewJournal,
    OutboxMessage,
    Posting,
    Purchase,
    Purpose,
)
from core.ports import UnitOfWork
from core.program import Program
from core.results import RefundResult


def refund_purchase(
    uow: UnitOfWork, program: Program, command: RefundPurchase, now: datetime
) -> RefundResult:
    """Refund all or part of a purchase, exactly once per refund id."""
    key = f"refund:{command.refund_id}"
    fingerprint = request_hash(receipt=command.receipt, amount=command.amount_minor)
    purchase = _purchase(uow, command.receipt)
    member = get_member(uow, purchase.member_id)
    if (journal := replayed(uow, key, fingerprint)) is not None:
        return _result(command.receipt, member, journal.meta, program, duplicate=True)
    accounts, balances = locked_balances(uow, member.id)
    purchase = _purchase(uow, command.receipt)  # re-read under the lock
    amount = _refund_amount(purchase, command.amount_minor)
    # Cumulative rounding: a purchase refunded in parts gives back exactly its points.
    refunded_after = purchase.refunded_minor + amount
    points = purchase.points * refunded_after // purchase.amount_minor - purchase.refunded_points
    plan = _plan(uow, purchase, balances, points)
    meta: dict[str, object] = {
        "ref": command.receipt,
        "amount": amount,
        "points": points,
        "pending": plan.from_pending,
        "available": plan.from_available,
        "expired": plan.expired,
        "shortfall": plan.shortfall,
    }
    journal_id = uow.ledger.add_journal(
        NewJournal(
            JournalKind.REFUND,
            key,
            fingerprint,
            now,
            member.id,
            command.actor_id,
            purchase.journal_id,
            meta,
        )
    )
    if points:
        _apply(uow, program, journal_id, accounts, plan, points)
        uow.outbox.add(
            OutboxMessage(
                member.id,
                "points_refunded",
                {"receipt": command.receipt, "points": points},
                f"points_refunded:{key}",
            ),
            now,
        )
    uow.purchases.add_refund(command.receipt, amount, points)
    return _result(command.receipt, member, meta, program, duplicate=False)


# Draws from the refunded purchase's own lot are told apart from claw-backs out of other lots.
OWN_LOT_DRAW = "refund"


@dataclass(frozen=True)
class _ClawBack:
    own_lot: list[LotDraw]
    other_lots: list[LotDraw]
    from_pending: int
    from_available: int
    expired: int
    shortfall: int


def _plan(uow: UnitOfWork, purchase: Purchase, balances: Balances, points: int) -> _ClawBack:
    from_pending, from_available, expired = 0, 0, 0
    own, others = list[LotDraw](), list[LotDraw]()
    if points and purchase.lot_id is not None:
        lot = uow.ledger.lot(purchase.lot_id)
        take = min(points, lot.remaining)
        if take:
            own.append(LotDraw(lot.id, take))
            if lot.state is LotState.PENDING:
                from_pending = take
            else:
                from_available = take
        expired = min(points - take, _expired_unrefunded(uow, purchase, lot.id))
    extra = min(points - from_pending - from_available - expired,
                balances.available - from_available)  # fmt: skip
    if extra > 0:
        others = plan_fefo_draw(uow, purchase.member_id, extra, skip_lot=purchase.lot_id)
        from_available += extra
    shortfall = points - from_pending - from_available - expired
    return _ClawBack(own, others, from_pending, from_available, expired, shortfall)


def _expired_unrefunded(uow: UnitOfWork, purchase: Purchase, lot_id: int) -> int:
    """Points of the purchase's lot that expired and no earlier refund has accounted for.

    The member already lost those, so refunding them must not take points again. Each
    refund takes from the lot's remainder first, then from what expired, so earlier refunds
    accounted for `refunded - clawed from the lot` of the expired points at most.
    """
    moved = uow.ledger.lot_movements(lot_id)
    expired = moved.get("expire", 0)
    accounted = max(min(expired, purchase.refunded_points - moved.get(OWN_LOT_DRAW, 0)), 0)
    return expired - accounted


def _apply(
    uow: UnitOfWork,
    program: Program,
    journal_id: int,
    accounts: MemberAccounts,
    plan: _ClawBack,
    points: int,
) -> None:
    uow.ledger.draw(journal_id, plan.own_lot, OWN_LOT_DRAW)
    uow.ledger.draw(journal_id, plan.other_lots, "clawback")
    postings = [Posting(uow.ledger.system_account(Purpose.ISSUED_PURCHASE), points)]
    for account, amount in (
        (accounts.available, plan.from_available),
        (accounts.pending, plan.from_pending),
    ):
        if amount:
            postings.append(Posting(account, -amount, _debit(uow, account, amount, 0)))
    if plan.expired:  # the expiry is undone: those points should never have been issued
        postings.append(Posting(uow.ledger.system_account(Purpose.EXPIRED), -plan.expired))
    if plan.shortfall and program.refunds.when_spent == "debt":
        after = _debit(uow, accounts.debt, plan.shortfall, None)
        postings.append(Posting(accounts.debt, -plan.shortfall, after))
    elif plan.shortfall:
        postings.append(Posting(uow.ledger.system_account(Purpose.ADJUSTMENT), -plan.shortfall))
    uow.ledger.add_postings(journal_id, postings)


def _purchase(uow: UnitOfWork, receipt: str) -> Purchase:
    purchase = uow.purchases.get(receipt)
    if purchase is None:
        raise errors.ReceiptNotFound(receipt=receipt)
    return purchase


def _debit(uow: UnitOfWork, account: int, amount: int, floor: int | None) -> int:
    after = uow.ledger.debit(account, amount, floor)
    if after is None:  # the amounts were computed from the locked balances
        raise errors.InsufficientPoints(needed=amount, available=0, short=amount)
    return after


def _refund_amount(purchase: Purchase, requested: int | None) -> int:
    refundable = purchase.amount_minor - purchase.refunded_minor
    if refundable <= 0:
        raise errors.NothingToRefund(receipt=purchase.receipt)
    amount = refundable if requested is None else requested
    if not 0 < amount <= refundable:
        raise errors.InvalidAmount(amount_minor=amount, maximum_minor=refundable)
    return amount


def _result(
    receipt: str, member: Member, meta: dict[str, object], program: Program, duplicate: bool
) -> RefundResult:
    def number(name: str) -> int:
        value = meta.get(name, 0)
        return value if isinstance(value, int) else 0

    return RefundResult(
        receipt,
        member,
        number("amount"),
        number("points"),
        number("pending"),
        number("available"),
        number("shortfall"),
        program.refunds.when_spent,
        duplicate,
    )
