"""What core services return: data for the renderer, never wording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.challenge_board import EarnedBadge
from core.model import HistoryRow, Member


@dataclass(frozen=True, kw_only=True)
class EnrollResult:
    member: Member
    created: bool
    bonus: int = 0
    referred_by: Member | None = None
    returning: bool = False  # joined again after `/forget`: no bonus, no referral


@dataclass(frozen=True, kw_only=True)
class EarnResult:
    member: Member
    receipt: str
    amount_minor: int
    points: int
    tier: str
    multiplier: Decimal
    pending_until: datetime | None
    debt_paid: int
    recorded_at: datetime
    duplicate: bool = False
    lot_id: int | None = None
    promotion: str | None = None
    category_bonus: int = 0
    earns: bool = True
    expired: bool = False  # dated so long ago that its points expired on arrival


@dataclass(frozen=True, kw_only=True)
class AwardResult:
    member: Member
    points: int
    reason: str
    debt_paid: int
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class RedeemQuote:
    """What a redemption would cost, shown before the member confirms."""

    reward_id: str
    reward_name: str
    price: int
    available: int

    @property
    def balance_after(self) -> int:
        return self.available - self.price

    @property
    def affordable(self) -> bool:
        return self.available >= self.price


@dataclass(frozen=True, kw_only=True)
class RedeemResult:
    reward_id: str
    reward_name: str
    points: int
    voucher: str
    valid_until: datetime
    balance_after: int
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class RefundResult:
    receipt: str
    member: Member
    amount_minor: int
    points: int
    from_pending: int
    from_available: int
    shortfall: int
    policy: str
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """A release or expiry run: the lots and points it moved, of how many due lots it looked
    at (`candidates`), and how many it set aside because their ledger was inconsistent."""

    lots: int = 0
    points: int = 0
    candidates: int = 0
    set_aside: int = 0

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            lots=self.lots + other.lots,
            points=self.points + other.points,
            candidates=self.candidates + other.candidates,
            set_aside=self.set_aside + other.set_aside,
        )


@dataclass(frozen=True, kw_only=True)
class TierProgress:
    name: str
    multiplier: Decimal
    measure: str
    qualifying: Decimal
    next_name: str | None
    next_threshold: Decimal | None
    perks: tuple[str, ...] = ()
    # Above the base tier: the tier is kept if `keep_threshold` counts by `keep_until`
    # (spend or points since its window opened: `keep_counted` so far).
    keep_until: datetime | None = None
    keep_counted: Decimal | None = None
    keep_threshold: Decimal | None = None

    @property
    def keep_needed(self) -> Decimal | None:
        """What is still missing to keep the tier (0: kept), or None for the base tier."""
        if self.keep_threshold is None or self.keep_counted is None:
            return None
        return max(self.keep_threshold - self.keep_counted, Decimal(0))

    @property
    def to_next(self) -> Decimal | None:
        """How much more spend or points reaches the next tier."""
        if self.next_threshold is None:
            return None
        return max(self.next_threshold - self.qualifying, Decimal(0))

    @property
    def percent(self) -> int:
        """Progress from this tier's floor to the next, 0-100."""
        if self.next_threshold is None or self.next_threshold <= 0:
            return 100
        return min(100, int(self.qualifying * 100 / self.next_threshold))


@dataclass(frozen=True, kw_only=True)
class RewardOption:
    reward_id: str
    name: str
    price: int
    affordable: bool
    in_stock: bool


@dataclass(frozen=True, kw_only=True)
class BalanceSummary:
    member: Member
    available: int
    pending: int
    debt: int
    next_release: tuple[datetime, int] | None
    next_expiry: tuple[datetime, int] | None
    tier: TierProgress
    nearest_reward: RewardOption | None
    affordable_rewards: int
    saved_minor: int
    currency: str
    badges: tuple[EarnedBadge, ...] = ()


@dataclass(frozen=True, kw_only=True)
class HistoryPage:
    rows: list[HistoryRow]
    page: int
    has_more: bool
