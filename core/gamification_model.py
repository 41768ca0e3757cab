"""What the gamification repositories keep and return: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


@dataclass(frozen=True, kw_only=True)
class ProgressRecord:
    """A member's progress on one challenge in one period, as stored."""

    challenge_id: str
    period: str
    value: int
    target: int
    window_end: datetime  # local midnight after the window's last day, in UTC
    last_day: date  # the window's last local day
    completed_at: datetime | None = None
    reward_journal_id: int | None = None  # the reward that currently stands (None: taken back)
    reward_lot_id: int | None = None
    reward_points: int = 0
    rewards: int = 0  # rewards given in this period so far (taken back ones included)
    streak: int = 0  # the latest run of a streak challenge
    streak_last_day: date | None = None
    streak_ends_at: datetime | None = None  # the end of the last day a visit keeps it alive


@dataclass(frozen=True, kw_only=True)
class ChallengeState:
    """A member's stored progress for some periods, the opt-in challenges they joined, and
    (when asked for) the time zones that decide their local day."""

    progress: dict[tuple[str, str], ProgressRecord] = field(default_factory=dict)
    joined: dict[str, datetime] = field(default_factory=dict)  # challenge id -> when
    time_zone: str | None = None  # the member's own choice
    platform_zones: tuple[str, ...] = ()  # their chat identities' zones, in a stable order


@dataclass(frozen=True, kw_only=True)
class BadgeCount:
    """A badge a member holds, and how many times they earned it."""

    badge_id: str
    times: int
    last_earned: datetime


@dataclass(frozen=True, kw_only=True)
class StreakAtRisk:
    """A streak that ends when `ends_at` passes unless the member visits (nudge planners)."""

    member_id: int
    challenge_id: str
    period: str
    streak: int
    ends_at: datetime


@dataclass(frozen=True, kw_only=True)
class ChallengeEnding:
    """An unfinished challenge whose window closes at `ends_at`, `left` short of its target."""

    member_id: int
    challenge_id: str
    period: str
    value: int
    target: int
    ends_at: datetime

    @property
    def left(self) -> int:
        """What is left to do (visits, minor units, items, days or actions)."""
        return max(self.target - self.value, 0)


@dataclass(frozen=True, kw_only=True)
class TierStatus:
    """A member's stored tier: a stable tier id, held since `since` until `until` (None: the
    base tier, held for good); spend or points from `counts_from` decide whether it is kept."""

    tier_id: str
    since: datetime
    until: datetime | None = None
    counts_from: datetime | None = None
    # What was held before the last upgrade: a refund of the purchase behind it goes back there.
    previous_tier_id: str | None = None
    previous_until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class TierKeep:
    """What a member has qualified so far towards keeping their tier by `until` (planners)."""

    member_id: int
    tier_id: str
    until: datetime
    spend_minor: int
    points: int


class ReferralStatus(StrEnum):
    """Where a referral stands."""

    PENDING = "pending"  # the friend joined; no qualifying purchase yet
    REWARDED = "rewarded"
    REFUSED = "refused"  # self-referral: never rewarded


@dataclass(frozen=True, kw_only=True)
class Referral:
    """A friend who joined through a member's invitation."""

    friend_id: int
    referrer_id: int
    joined_at: datetime
    status: ReferralStatus = ReferralStatus.PENDING
    attempts: int = 0  # rewards given so far (taken back ones included)
    receipt: str | None = None  # the qualifying purchase
    purchased_at: datetime | None = None
    month: str | None = None  # the referrer's cap period the reward counted in
    referrer_journal_id: int | None = None
    referrer_lot_id: int | None = None
    referrer_points: int = 0
    friend_journal_id: int | None = None
    friend_lot_id: int | None = None
    friend_points: int = 0
    reason: str | None = None  # why it was refused


@dataclass(frozen=True, kw_only=True)
class ReferralStats:
    """How a member's invitations went."""

    joined: int = 0
    rewarded: int = 0
    pending: int = 0
    points: int = 0  # earned by the referrer from rewarded referrals


@dataclass(frozen=True, kw_only=True)
class Ranked:
    """One row of a leaderboard."""

    rank: int
    member_id: int
    name: str
    score: int
