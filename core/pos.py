"""Purchases and refunds from the shop's systems: the point-of-sale API and CSV imports.

A member is named the way a till knows them: a member code, or `customer:<id>` for the
shop's own customer id (linked by an import or by staff). A scanned card token is turned
into its member code at the edge, where the signing key lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core import errors
from core.codes import looks_like_member_code
from core.commands import RecordPurchase
from core.earning import record_purchase
from core.ledger import expiry_for
from core.model import Member, PurchaseItem
from core.ports import UnitOfWork
from core.program import Program
from core.results import EarnResult
from core.sweeps import expire_lot

CUSTOMER_PREFIX = "customer:"
CUSTOMER_PLATFORM = "customer"
# Tills' clocks drift; a purchase "from the future" beyond this is a mistake.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class ExternalPurchase:
    """A purchase as a till or a CSV row reports it."""

    member_ref: str
    receipt: str
    amount_minor: int
    occurred_at: datetime | None = None
    store: str | None = None
    channel: str | None = None
    items: tuple[PurchaseItem, ...] = ()
    quiet: bool = False


@dataclass(frozen=True, kw_only=True)
class ExternalPurchaseResult:
    """What a purchase earned, and when its lot expires (None: no lot)."""

    earn: EarnResult
    expires_at: datetime | None


def find_by_reference(uow: UnitOfWork, ref: str) -> Member:
    """The member a till names: a member code or `customer:<id>`; MemberNotFound otherwise."""
    text = ref.strip()
    member = None
    if text.lower().startswith(CUSTOMER_PREFIX):
        customer = text[len(CUSTOMER_PREFIX) :].strip()
        member = uow.members.by_identity(CUSTOMER_PLATFORM, customer) if customer else None
    elif looks_like_member_code(text):
        member = uow.members.by_code(text)
    if member is None:
        raise errors.MemberNotFound(ref=text)
    return member


def record_external_purchase(
    uow: UnitOfWork, program: Program, purchase: ExternalPurchase, now: datetime
) -> ExternalPurchaseResult:
    """Earn for a reported purchase at its own time; a lot already past its expiry (an old
    purchase imported today) is expired at once, so the member sees it came and went."""
    if purchase.occurred_at is not None and purchase.occurred_at > now + CLOCK_SKEW:
        raise errors.PurchaseInFuture(receipt=purchase.receipt, at=purchase.occurred_at)
    member = find_by_reference(uow, purchase.member_ref)
    command = RecordPurchase(
        member_id=member.id,
        receipt=purchase.receipt,
        amount_minor=purchase.amount_minor,
        occurred_at=purchase.occurred_at,
        store=purchase.store,
        channel=purchase.channel,
        items=purchase.items,
        quiet=purchase.quiet,
    )
    result = record_purchase(uow, program, command, now)
    expires_at = expiry_for(program, result.recorded_at) if result.lot_id is not None else None
    if result.expired and not result.duplicate and result.lot_id is not None:
        expire_lot(uow, result.lot_id, now)
    return ExternalPurchaseResult(earn=result, expires_at=expires_at)
