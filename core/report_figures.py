"""What the report's read port returns: plain aggregates, one dataclass per question.

Kept apart from `core.reports` (which turns them into sections) so storage implements the port
without importing the sections' logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.lift import GroupSums


@dataclass(frozen=True, kw_only=True)
class Flow:
    """Points booked in one bucket of time, by journal kind and account purpose (net amount).

    `hour` is where the bucket starts: a UTC hour, or a local midnight (never across one).
    """

    hour: datetime
    kind: str
    purpose: str
    points: int


@dataclass(frozen=True, kw_only=True)
class RewardCount:
    """A reward redeemed in the period: how often and for how many points."""

    reward_id: str
    redemptions: int
    points: int


@dataclass(frozen=True, kw_only=True)
class Vouchers:
    """Vouchers issued, used at the counter and returned unused, in the period."""

    issued: int
    used: int
    returned: int


@dataclass(frozen=True, kw_only=True)
class MemberCounts:
    """Members: enrolled in all, new in the period, active (a visit) in the period."""

    total: int
    new: int
    active: int


@dataclass(frozen=True, kw_only=True)
class ReferralCounts:
    """Friends who joined through an invitation, and those whose first purchase converted."""

    joined: int
    converted: int


@dataclass(frozen=True, kw_only=True)
class ChallengeCount:
    """One challenge in the period: members with progress, and completions."""

    challenge_id: str
    participants: int
    completed: int


@dataclass(frozen=True, kw_only=True)
class Recognition:
    """Recognition gifts in the period (revoked ones left out)."""

    gifts: int
    points: int
    givers: int
    receivers: int


@dataclass(frozen=True, kw_only=True)
class ValueCount:
    """Gifts tagged with one company value."""

    value: str
    gifts: int
    points: int


@dataclass(frozen=True, kw_only=True)
class ChannelGifts:
    """Gifts one giver gave one receiver in one channel (None: a direct message or unknown),
    with the channel's name when any of its gifts recorded it."""

    channel: str | None
    channel_name: str | None
    giver_id: int
    receiver_id: int
    gifts: int
    points: int


@dataclass(frozen=True, kw_only=True)
class OutboxCount:
    """Outbox messages created in the period, by category and what happened to them."""

    category: str
    status: str
    messages: int


@dataclass(frozen=True, kw_only=True)
class Spending:
    """Purchases in the period net of refunds, and the points they earned (net too)."""

    spend_minor: int
    points: int
    purchases: int


@dataclass(frozen=True, kw_only=True)
class Savings:
    """Since the program began: points redeemed (net of vouchers returned) and by how many."""

    redeemed_points: int
    redeemers: int


@dataclass(frozen=True, kw_only=True)
class BroadcastCount:
    """A broadcast started in the period, and its audience's and holdout's figures over the
    days after it started (per group: members, sums and sums of squares; see core.lift)."""

    broadcast_id: int
    segment: str
    started_at: datetime
    audience: int
    holdout: int
    sent: GroupSums
    held: GroupSums


class ReportReader(Protocol):
    """The read-only, set-based aggregates a report is made of (`storage.repositories.reports`).

    Every method runs a handful of grouped statements, never a query per member.
    """

    def liability(self) -> tuple[int, int]:
        """(available, pending) points members hold now."""
        ...

    def flows(self, start: datetime, end: datetime, zone: str) -> list[Flow]:
        """Postings of journals effective in `[start, end)`, summed by kind, purpose and a
        bucket of time that local days of `zone` are made of (a UTC hour, or the local day)."""
        ...

    def expiring(self, now: datetime, horizons: Sequence[datetime]) -> list[int]:
        """Available points expiring after `now` and up to each horizon (cumulative)."""
        ...

    def top_rewards(self, start: datetime, end: datetime, limit: int) -> list[RewardCount]: ...
    def vouchers(self, start: datetime, end: datetime) -> Vouchers: ...
    def members(self, start: datetime, end: datetime) -> MemberCounts: ...
    def referrals(self, start: datetime, end: datetime) -> ReferralCounts: ...
    def challenges(self, start: datetime, end: datetime) -> list[ChallengeCount]: ...

    def streaks(self, start: datetime, end: datetime) -> list[tuple[int, int]]:
        """(longest streak a member reached in the period, members) pairs."""
        ...

    def recognition(self, start: datetime, end: datetime) -> Recognition: ...
    def values(self, start: datetime, end: datetime) -> list[ValueCount]: ...

    def channel_gifts(self, start: datetime, end: datetime) -> list[ChannelGifts]:
        """Gifts grouped by channel, giver and receiver (teams are mapped from channels, and a
        giver counts once per team however many channels it has)."""
        ...

    def outbox(self, start: datetime, end: datetime) -> list[OutboxCount]: ...
    def spending(self, start: datetime, end: datetime) -> Spending: ...
    def savings(self) -> Savings: ...

    def broadcasts(self, start: datetime, end: datetime, days: int) -> list[BroadcastCount]:
        """Broadcasts started in `[start, end)` with their groups' figures over `days`."""
        ...
