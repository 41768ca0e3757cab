"""Domain values shared by services, ports and adapters: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from core.text import clean_name, clean_optional


class Role(IntEnum):
    """What a person may do; a higher role includes the lower ones."""

    MEMBER = 0
    STAFF = 1
    ADMIN = 2

    @classmethod
    def parse(cls, text: str) -> Role:
        """Role from its lower-case name; ValueError when unknown."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(text) from None


class Purpose(StrEnum):
    """What an account is for. Member purposes carry a cached balance; system ones do not."""

    AVAILABLE = "available"
    PENDING = "pending"
    DEBT = "debt"
    ALLOWANCE = "allowance"
    ISSUED_PURCHASE = "issued:purchase"
    ISSUED_ACTION = "issued:action"
    ISSUED_REFERRAL = "issued:referral"
    ISSUED_RECOGNITION = "issued:recognition"
    ISSUED_GOODWILL = "issued:goodwill"
    ISSUED_OPENING = "issued:opening"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    ADJUSTMENT = "adjustment"

    @property
    def is_member(self) -> bool:
        """True for accounts owned by a member (cached balance, floor)."""
        return self in MEMBER_PURPOSES


MEMBER_PURPOSES = frozenset({Purpose.AVAILABLE, Purpose.PENDING, Purpose.DEBT, Purpose.ALLOWANCE})


class JournalKind(StrEnum):
    """The business event a journal records."""

    EARN = "earn"
    AWARD = "award"
    RELEASE = "release"
    REDEEM = "redeem"
    REFUND = "refund"
    EXPIRE = "expire"
    TRANSFER = "transfer"
    ADJUST = "adjust"
    RECOGNIZE = "recognize"
    REVOKE = "revoke"
    OPENING = "opening"
    MERGE = "merge"
    VOUCHER_RETURN = "voucher_return"
    CLAWBACK = "clawback"  # a bonus (challenge or referral reward) taken back


class LotState(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"


@dataclass(frozen=True, kw_only=True)
class Identity:
    """One chat identity of a person: the platform and its id for them."""

    platform: str
    external_id: str
    display_name: str = ""
    username: str | None = None
    language: str | None = None
    time_zone: str | None = None

    def __post_init__(self) -> None:
        # Platforms pass names on as people typed them; cleaned here once, whichever adapter
        # built the identity, before they are stored or shown (see core.text).
        object.__setattr__(self, "display_name", clean_name(self.display_name))
        object.__setattr__(self, "username", clean_optional(self.username))
        object.__setattr__(self, "language", clean_optional(self.language, 16))
        object.__setattr__(self, "time_zone", clean_optional(self.time_zone))


@dataclass(frozen=True, kw_only=True)
class Member:
    """A person enrolled in the program."""

    id: int
    code: str
    display_name: str
    role: Role
    language: str | None
    created_at: datetime
    referred_by: int | None = None


@dataclass(frozen=True)
class MemberAccounts:
    """Ids of a member's own accounts, in ascending id order."""

    available: int
    pending: int
    debt: int


@dataclass(frozen=True)
class Balances:
    """Cached balances of a member's accounts."""

    available: int
    pending: int
    debt: int


@dataclass(frozen=True)
class Posting:
    """One leg of a journal; `balance_after` is set for member accounts only."""

    account_id: int
    amount: int
    balance_after: int | None = None


@dataclass(frozen=True, kw_only=True)
class NewJournal:
    kind: JournalKind
    key: str
    request_hash: str
    effective_at: datetime
    member_id: int | None
    actor_id: int | None = None
    reverses_id: int | None = None
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RecordedJournal:
    id: int
    kind: JournalKind
    key: str
    request_hash: str
    effective_at: datetime
    member_id: int | None
    meta: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class NewLot:
    member_id: int
    journal_id: int
    amount: int
    state: LotState
    earned_at: datetime
    available_at: datetime
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class Lot:
    id: int
    member_id: int
    amount: int
    remaining: int
    state: LotState
    earned_at: datetime
    available_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class LotDraw:
    """Take `amount` from lot `lot_id` (a redemption, expiry, release or claw-back)."""

    lot_id: int
    amount: int


@dataclass(frozen=True, kw_only=True)
class PurchaseItem:
    """One line of a receipt, for category bonuses and challenges."""

    sku: str
    category: str | None = None
    quantity: int = 1
    amount_minor: int = 0


@dataclass(frozen=True, kw_only=True)
class Purchase:
    receipt: str
    member_id: int
    amount_minor: int
    points: int
    lot_id: int | None
    journal_id: int
    occurred_at: datetime
    refunded_minor: int = 0
    refunded_points: int = 0
    store: str | None = None
    channel: str | None = None


@dataclass(frozen=True, kw_only=True)
class Redemption:
    id: int
    member_id: int
    reward_id: str
    points: int
    voucher: str
    journal_id: int
    created_at: datetime
    valid_until: datetime
    used_at: datetime | None = None
    used_by: int | None = None
    used_store: str | None = None
    returned: bool = False


@dataclass(frozen=True, kw_only=True)
class HistoryRow:
    """One movement on a member's points, newest first in a page."""

    journal_id: int
    kind: JournalKind
    at: datetime
    amount: int
    purpose: Purpose
    reference: str | None
    voucher: str | None = None  # the voucher code of a redemption


@dataclass(frozen=True, kw_only=True)
class Gift:
    """One recognition gift: `points` from a giver's monthly allowance to a receiver."""

    key: str
    journal_id: int
    giver_id: int
    receiver_id: int
    points: int
    values: tuple[str, ...]
    reason: str
    period: str
    day: str
    lot_id: int | None
    given_at: datetime
    revoked: bool = False
    # Where it was given (a Slack channel id, and its name when the platform said it): what
    # the report's recognition by team is made of. None: a direct message or unknown.
    channel: str | None = None
    channel_name: str | None = None
