"""What a purchase says beyond receipt and amount (its time, store, channel, items), as the
idempotency fingerprint and the journal record it.

Only details a request actually carries enter the fingerprint, so a plain `/earn` keeps the
fingerprint it always had.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.commands import RecordPurchase
from core.earning_rules import EarnedPoints
from core.program import Program


def details_of(command: RecordPurchase) -> dict[str, object]:
    """The details a purchase request carries, in a stable form for `request_hash`."""
    details: dict[str, object] = {}
    if command.occurred_at is not None:
        details["at"] = command.occurred_at.astimezone(UTC).isoformat()
    if command.store is not None:
        details["store"] = command.store
    if command.channel is not None:
        details["channel"] = command.channel
    if command.items:
        details["items"] = [[i.sku, i.category, i.quantity, i.amount_minor] for i in command.items]
    return details


def hold_days_at(program: Program, at: datetime, now: datetime) -> int:
    """The return hold a purchase made at `at` still gets: none once its window has passed."""
    hold = program.returns.hold_days
    return hold if hold and program.end_of_day(at, hold) > now else 0


def rule_meta(
    command: RecordPurchase, earned: EarnedPoints, hold: int, expired: bool
) -> dict[str, object]:
    """Journal metadata for what the earning rules did (only what differs from a plain earn)."""
    meta: dict[str, object] = {}
    if command.occurred_at is not None:  # a late purchase may get a shorter hold, or none
        meta["hold"] = hold
    if expired:  # so old that its points expired on arrival
        meta["expired"] = True
    if command.store is not None:
        meta["store"] = command.store
    if command.channel is not None:
        meta["channel"] = command.channel
    if earned.promotion is not None:
        meta["promo"] = earned.promotion
    if earned.category_bonus:
        meta["bonus"] = earned.category_bonus
    if not earned.earns:
        meta["earns"] = False
    return meta
