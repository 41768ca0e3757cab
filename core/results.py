"""What core services return: data for the renderer, never wording."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from decimal import Decimal

from core.model import HistoryRow, Member


@dataclass(frozen=True)
class EnrollResult:
    member: Member
    created: bool
    bonus: int = 0
    referred_by: Member | None = None


@dataclass(frozen=True)
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
    _: KW_ONLY
    lot_id: int | None = None
    promotion: str | None = None
    category_bonus: int = 0
    earns: bool = True
    expired: bool = False  # dated so long ago that its points expired on arrival


@dataclass(frozen=True)
class AwardResult:
    member: Member
    points: int
    reason: str
    debt_paid: int
    duplicate: bool = False


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class RedeemResult:
    reward_id: str
    reward_name: str
    points: int
    voucher: str
    valid_until: datetime
    balance_after: int
    duplicate: bool = False


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class SweepResult:
    """A release or expiry run: how many lots and points it moved."""

    lots: int
    points: int


@dataclass(frozen=True)
class TierProgress:
    name: str
    multiplier: Decimal
    measure: str
    qualifying: Decimal
    next_name: str | None
    next_threshold: Decimal | None
    perks: tuple[str, ...] = ()

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


@dataclass(frozen=True)
class RewardOption:
    reward_id: str
    name: str
    price: int
    affordable: bool
    in_stock: bool


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    page: int
    has_more: bool
