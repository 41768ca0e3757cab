"""Commands the core accepts: small frozen dataclasses, one per business action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.model import Identity, PurchaseItem


@dataclass(frozen=True)
class Enroll:
    identity: Identity
    payload: str | None = None
    # The identity was forgotten before (`/forget` left a tombstone): it joins again without
    # the sign-up bonus or a referral, so erasing and re-joining earns nothing.
    returning: bool = False


@dataclass(frozen=True, kw_only=True)
class RecordPurchase:
    member_id: int
    receipt: str
    amount_minor: int
    actor_id: int | None = None
    # When the sale happened (None: now); points, promotions and the lot's expiry follow it.
    occurred_at: datetime | None = None
    store: str | None = None
    channel: str | None = None
    items: tuple[PurchaseItem, ...] = ()
    # Historical imports: no "you earned points" message for a purchase from last year.
    quiet: bool = False


@dataclass(frozen=True, kw_only=True)
class AwardPoints:
    """Points for an action: a named program action, or staff goodwill with a reason."""

    member_id: int
    key: str
    reason: str
    points: int | None = None
    action: str | None = None
    actor_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class RedeemReward:
    """Spend points on a reward, once per `nonce`; a nonce past `expires_at` spends nothing."""

    member_id: int
    reward_id: str
    nonce: str
    expires_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RefundPurchase:
    receipt: str
    refund_id: str
    amount_minor: int | None = None
    actor_id: int | None = None
