"""Domain events: small frozen facts a service records on the unit of work.

Handlers registered on the message bus (`core.bus`) run inside the same transaction before it
commits, so whatever they write is atomic with the event that caused it. Events carry ids and
business facts, never wording. Every field is a keyword: a later field with a default (say, a
purchase's store or items) is added without breaking anyone who builds or reads an event.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date, datetime

from core.model import PurchaseItem, Role


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened in the loyalty program, at `occurred_at`."""

    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class MemberEnrolled(DomainEvent):
    """A person joined the program (on `platform`, invited by `referred_by` if anyone)."""

    member_id: int
    platform: str
    referred_by: int | None = None


@dataclass(frozen=True, kw_only=True)
class PurchaseRecorded(DomainEvent):
    """A purchase earned `points` (perhaps none) under journal `journal_id`; where it was made
    (`store`, `channel`) and what was in it (`items`) when the till says so."""

    member_id: int
    journal_id: int
    receipt: str
    amount_minor: int
    points: int
    tier: str
    debt_paid: int = 0
    pending_until: datetime | None = None
    actor_id: int | None = None
    # When the sale happened (a till's or an import's `occurred_at`; `occurred_at` above is
    # when it was recorded), where and what: for challenges and earning rules.
    purchased_at: datetime | None = None
    store: str | None = None
    channel: str | None = None
    items: tuple[PurchaseItem, ...] = ()
    # An imported (historical) purchase: nobody is told about it.
    quiet: bool = False


@dataclass(frozen=True, kw_only=True)
class PurchaseRefunded(DomainEvent):
    """All or part of a purchase was refunded and `points` taken back."""

    member_id: int
    journal_id: int
    purchase_journal_id: int
    receipt: str
    refund_id: str
    amount_minor: int
    points: int
    shortfall: int = 0
    actor_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class PointsAwarded(DomainEvent):
    """Points for a program action (`action`) or staff goodwill (`action` is None)."""

    member_id: int
    journal_id: int
    points: int
    reason: str
    action: str | None = None
    debt_paid: int = 0
    actor_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class PointsReleased(DomainEvent):
    """Pending points of one lot became available (the return window ended)."""

    member_id: int
    journal_id: int
    lot_id: int
    points: int


@dataclass(frozen=True, kw_only=True)
class PointsRedeemed(DomainEvent):
    """Points were spent on a reward; the voucher is valid until `valid_until`."""

    member_id: int
    journal_id: int
    reward_id: str
    points: int
    voucher: str
    valid_until: datetime


@dataclass(frozen=True, kw_only=True)
class PointsExpired(DomainEvent):
    """What was left of one lot expired."""

    member_id: int
    journal_id: int
    lot_id: int
    points: int
    expired_at: datetime


@dataclass(frozen=True, kw_only=True)
class GiftGiven(DomainEvent):
    """A recognition gift from `giver_id` to `receiver_id`."""

    key: str
    journal_id: int
    giver_id: int
    receiver_id: int
    points: int
    values: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class GiftRevoked(DomainEvent):
    """A gift was taken back (a removed reaction): `clawed_back` now, `shortfall` as debt."""

    key: str
    journal_id: int
    giver_id: int
    receiver_id: int
    points: int
    clawed_back: int
    shortfall: int = 0
    actor_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class RoleChanged(DomainEvent):
    """A member's role changed from `previous` to `role`."""

    member_id: int
    previous: Role
    role: Role
    actor_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class CheckedIn(DomainEvent):
    """A member checked in at a store with its code of the day (`day`: the store's date)."""

    member_id: int
    store_id: str
    day: date


@dataclass(frozen=True, kw_only=True)
class ProgressChange:
    """How one challenge moved for one member in one period."""

    challenge_id: str
    period: str
    before: int
    value: int
    target: int
    last_day: date  # the window's last local day: "by Sunday"
    completed: bool = False  # reached the target just now
    undone: bool = False  # fell back below the target (a refund)
    points: int = 0  # rewarded just now
    streak: int = 0  # the current run of a streak challenge


@dataclass(frozen=True, kw_only=True)
class ChallengesProgressed(DomainEvent):
    """What one counted event (`source`: a purchase, check-in, action or refund) moved."""

    member_id: int
    source: str
    changes: tuple[ProgressChange, ...]
    by_member: bool = False  # the member did it themselves (a check-in): they see the reply
    quiet: bool = False  # an imported purchase: nobody is told


@dataclass(frozen=True, kw_only=True)
class BonusTakenBack(DomainEvent):
    """Points a bonus gave (a challenge reward, a referral) were taken back by `journal_id`."""

    member_id: int
    journal_id: int
    bonus_journal_id: int
    points: int
    reason: str
    awarded_at: datetime


@dataclass(frozen=True, kw_only=True)
class TierChanged(DomainEvent):
    """A member's stored tier moved from `previous` to `tier` (stable tier ids)."""

    member_id: int
    previous: str
    tier: str
    upgrade: bool
    until: datetime | None = None  # the end of the new tier's window (None: the base tier)


class DomainEvents:
    """The events one transaction recorded, handed out first in, first out.

    A unit of work owns one; a retried transaction gets a new unit of work, so it starts empty.
    """

    __slots__ = ("_pending", "_recorded")

    def __init__(self) -> None:
        self._pending: deque[DomainEvent] = deque()
        self._recorded: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        """Remember that `event` happened in this transaction."""
        self._pending.append(event)
        self._recorded.append(event)

    def next(self) -> DomainEvent | None:
        """The oldest event not handed out yet, or None."""
        return self._pending.popleft() if self._pending else None

    @property
    def recorded(self) -> tuple[DomainEvent, ...]:
        """Every event recorded so far, handled or not, in order."""
        return tuple(self._recorded)
