"""The `[[challenges]]` section of the program file: what members are challenged to do.

Each challenge counts one kind of activity in a window (weekly, monthly or fixed dates, in the
member's own time zone) up to a target, and rewards reaching it with points, a badge or both.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.windows import Window, WindowKind, window_on

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class ChallengeKind(StrEnum):
    """What a challenge counts."""

    VISITS = "visits"  # local days with a purchase or a check-in
    SPEND = "spend"  # money spent (net of refunds)
    DISTINCT = "distinct"  # different products or categories bought
    STREAK = "streak"  # consecutive local days with a visit (grace days allowed)
    ACTIONS = "actions"  # program actions awarded (reviews, shares)


# Kinds that a purchase moves; check-ins move visits and streaks; awards move actions.
PURCHASE_KINDS = frozenset(
    {ChallengeKind.VISITS, ChallengeKind.SPEND, ChallengeKind.DISTINCT, ChallengeKind.STREAK}
)
VISIT_KINDS = frozenset({ChallengeKind.VISITS, ChallengeKind.STREAK})
ITEM_KINDS = frozenset({ChallengeKind.DISTINCT})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Badge(_Section):
    """A badge a member keeps: shown on /card and /balance."""

    id: Slug
    name: str = Field(min_length=1, max_length=40)
    icon: str = Field(default="🏅", min_length=1, max_length=8)


class Challenge(_Section):
    """One challenge, validated field by field."""

    id: Slug
    name: str = Field(min_length=1, max_length=60)
    icon: str = Field(default="🏁", min_length=1, max_length=8)
    kind: ChallengeKind
    target: Decimal = Field(gt=0, description="visits, days, items or actions; money for spend")
    window: WindowKind = WindowKind.WEEKLY
    starts: date | None = None
    ends: date | None = None
    join: Literal["auto", "opt_in"] = "auto"
    points: int = Field(default=0, ge=0, le=100_000)
    badge: Badge | None = None
    grace_days: int = Field(default=0, ge=0, le=6, description="streak: missed days forgiven")
    count: Literal["products", "categories"] = "products"
    categories: list[str] = Field(default_factory=list, description="item categories counted")
    stores: list[Slug] = Field(default_factory=list, description="visits: only these stores")
    actions: list[Slug] = Field(default_factory=list, description="actions: which ones count")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.points == 0 and self.badge is None:
            raise ValueError("a challenge rewards points, a badge or both")
        if self.kind is not ChallengeKind.SPEND and self.target != self.target.to_integral_value():
            raise ValueError("target must be a whole number for this kind")
        if self.window is WindowKind.FIXED:
            if self.starts is None or self.ends is None:
                raise ValueError("a fixed window needs starts and ends dates")
            if self.ends < self.starts:
                raise ValueError("ends must not be before starts")
        elif self.starts is not None or self.ends is not None:
            raise ValueError("starts and ends belong to fixed windows only")
        if self.kind is ChallengeKind.ACTIONS and not self.actions:
            raise ValueError("an actions challenge names the actions it counts")
        if self.kind is not ChallengeKind.ACTIONS and self.actions:
            raise ValueError("actions belong to actions challenges only")
        if self.grace_days and self.kind is not ChallengeKind.STREAK:
            raise ValueError("grace_days belong to streak challenges only")
        if self.stores and self.kind not in VISIT_KINDS:
            raise ValueError("stores filter visits and streaks only")
        return self

    @property
    def opt_in(self) -> bool:
        """True when members join it themselves (/join); else everyone takes part."""
        return self.join == "opt_in"

    def window_on(self, day: date) -> Window | None:
        """The period holding the member's local `day`, or None outside fixed dates."""
        return window_on(self.window, day, self.starts, self.ends)

    @property
    def needs_items(self) -> bool:
        """True when only a purchase's item lines move it (products, categories)."""
        return self.kind is ChallengeKind.DISTINCT or (
            self.kind is ChallengeKind.SPEND and bool(self.categories)
        )

    def counts(self, kinds: frozenset[ChallengeKind]) -> bool:
        """True when this challenge counts one of `kinds`."""
        return self.kind in kinds


def check_challenges(challenges: list[Challenge], actions: set[str], stores: set[str]) -> None:
    """Cross-section checks: unique ids, known actions and stores, one meaning per badge id."""
    ids = [c.id for c in challenges]
    if len(ids) != len(set(ids)):
        raise ValueError("challenges: ids must be unique")
    badges: dict[str, Badge] = {}
    for challenge in challenges:
        if unknown := sorted(set(challenge.actions) - actions):
            raise ValueError(f"challenges: {challenge.id}: unknown actions {unknown}")
        if unknown := sorted(set(challenge.stores) - stores):
            raise ValueError(f"challenges: {challenge.id}: unknown stores {unknown}")
        badge = challenge.badge
        if badge is not None and badges.setdefault(badge.id, badge) != badge:
            raise ValueError(f"challenges: badge {badge.id} is defined twice differently")
