"""The program file's `[nudges]` section: which reminders the bot sends on its own, when in the
member's day, and how often at most.

Each kind is a sub-table; leaving one out turns that kind off. Every kind is also a message
category members can opt out of in /settings (`core.categories.NUDGES`).
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Days = Annotated[int, Field(gt=0, le=366)]
BonusPoints = Annotated[int, Field(gt=0, le=100_000)]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NearReward(_Rule):
    """ "40 points from a free latte": members within `within_points` of a reward; a Redeem
    button when they can already afford one."""

    within_points: int = Field(default=50, gt=0, le=1_000_000)


class PointsExpiring(_Rule):
    """Points that expire within `days`, with the amount and the date."""

    days: Days = 14


class VoucherExpiring(_Rule):
    """An unused voucher that expires within `days`."""

    days: Days = 3


class Streak(_Rule):
    """A streak that ends today unless the member visits."""


class ChallengeEnding(_Rule):
    """A challenge whose last day is tomorrow, with what is left to do."""


class Winback(_Rule):
    """No purchase for `days` days: a win-back message, with `bonus_points` given if set."""

    days: Days = 30
    bonus_points: BonusPoints | None = None


class TierKeep(_Rule):
    """What it takes to keep a tier, `days` before its window closes."""

    days: Days = 14


class Birthday(_Rule):
    """On the member's birthday (in their zone), with `bonus_points` given if set."""

    bonus_points: BonusPoints | None = None


class Nudges(_Rule):
    """Nudges go at or after `send_from` in the member's own day, and never in their quiet
    hours; at most `per_day` in any 24 hours and `per_week` in any 7 days, across kinds."""

    send_from: time = time(10)
    per_day: int = Field(default=1, ge=1, le=24)
    per_week: int = Field(default=3, ge=1, le=100)
    near_reward: NearReward | None = None
    points_expiring: PointsExpiring | None = None
    voucher_expiring: VoucherExpiring | None = None
    streak: Streak | None = None
    challenge_ending: ChallengeEnding | None = None
    winback: Winback | None = None
    tier_keep: TierKeep | None = None
    birthday: Birthday | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.per_day > self.per_week:
            raise ValueError("nudges.per_day must not exceed per_week")
        if self.send_from.tzinfo is not None:
            raise ValueError("nudges.send_from is a local time of day, without a zone")
        return self

    def enabled(self) -> list[str]:
        """The kinds switched on, in the order the planner serves them (most urgent first)."""
        # Those whose day passes first: a streak or a birthday is today only, a challenge's
        # last day tomorrow; expiring points and vouchers can wait a day, a win-back longer.
        order = (
            "streak",
            "birthday",
            "challenge_ending",
            "voucher_expiring",
            "points_expiring",
            "tier_keep",
            "near_reward",
            "winback",
        )
        return [kind for kind in order if getattr(self, kind) is not None]
