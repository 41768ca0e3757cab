"""Earning rules of the program file's `[earning_rules]` section, and the points they give.

Which stores and channels earn at all (a brand that rewards only its own shops and web shop),
time-boxed promotions ("double points this weekend") and category bonuses. Every rule is
judged at the purchase's own time, so an imported or late-posted purchase earns what it
would have earned at the till.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:  # the program imports this module for its section
    from core.model import PurchaseItem
    from core.program import Program

# Store, channel, category and promotion names: what the program file, the purchase API and
# the CSV import all accept.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Promotion(_Rules):
    """A multiplier on purchase points between two moments, optionally for some stores or
    channels only."""

    id: Name
    name: str = Field(min_length=1)
    starts: datetime
    ends: datetime
    multiplier: Decimal = Field(gt=1, le=10, description="2 = double points")
    stores: list[Name] = Field(default_factory=list, description="empty: every store")
    channels: list[Name] = Field(default_factory=list, description="empty: every channel")

    @field_validator("starts", "ends")
    @classmethod
    def _with_offset(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-28T00:00:00-05:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        return self

    def applies(self, at: datetime, store: str | None, channel: str | None) -> bool:
        """True when a purchase at `at` in `store` through `channel` gets this promotion."""
        return (
            self.starts <= at < self.ends
            and (not self.stores or store in self.stores)
            and (not self.channels or channel in self.channels)
        )


class CategoryBonus(_Rules):
    """Extra points per currency unit spent on items of one category."""

    category: Name
    points_per_unit: Decimal = Field(gt=0, le=100)


class EarningRules(_Rules):
    """The `[earning_rules]` section: every field optional, the default earns everywhere."""

    stores: list[Name] = Field(
        default_factory=list, description="stores whose purchases earn; empty: every store"
    )
    channels: list[Name] = Field(
        default_factory=list, description="channels that earn (store, web, app); empty: all"
    )
    promotions: list[Promotion] = Field(default_factory=list)
    category_bonuses: list[CategoryBonus] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [p.id for p in self.promotions]
        if len(ids) != len(set(ids)):
            raise ValueError("earning_rules.promotions: ids must be unique")
        categories = [b.category for b in self.category_bonuses]
        if len(categories) != len(set(categories)):
            raise ValueError("earning_rules.category_bonuses: one entry per category")
        return self

    def earns_at(self, store: str | None, channel: str | None) -> bool:
        """False when the purchase names a store or channel the program does not reward.

        A purchase that names none (a staff member's /earn at the counter) always earns.
        """
        store_ok = store is None or not self.stores or store in self.stores
        return store_ok and (channel is None or not self.channels or channel in self.channels)

    def promotion_at(
        self, at: datetime, store: str | None, channel: str | None
    ) -> Promotion | None:
        """The best promotion running for this purchase; promotions never stack."""
        running = [p for p in self.promotions if p.applies(at, store, channel)]
        return max(running, key=lambda p: (p.multiplier, p.id), default=None)


@dataclass(frozen=True, kw_only=True)
class EarnedPoints:
    """What a purchase earns and why."""

    points: int
    base: int
    category_bonus: int
    multiplier: Decimal
    promotion: str | None
    earns: bool


def purchase_points(
    program: Program,
    tier_multiplier: Decimal,
    *,
    amount_minor: int,
    at: datetime,
    store: str | None = None,
    channel: str | None = None,
    items: tuple[PurchaseItem, ...] = (),
) -> EarnedPoints:
    """Points for a purchase at `at`: rate x tier x promotion, plus category bonuses, capped."""
    rules = program.earning_rules
    if not rules.earns_at(store, channel):
        return EarnedPoints(
            points=0, base=0, category_bonus=0, multiplier=Decimal(0), promotion=None, earns=False
        )
    promotion = rules.promotion_at(at, store, channel)
    multiplier = tier_multiplier * (promotion.multiplier if promotion else 1)
    units = program.from_minor(amount_minor)
    base = _floor(units * program.earning.points_per_unit * multiplier)
    bonus = _category_bonus(program, rules, items)
    cap = program.earning.max_points_per_purchase
    total = base + bonus if cap is None else min(base + bonus, cap)
    return EarnedPoints(
        points=total,
        base=base,
        category_bonus=bonus,
        multiplier=multiplier,
        promotion=promotion.id if promotion else None,
        earns=True,
    )


def _category_bonus(program: Program, rules: EarningRules, items: tuple[PurchaseItem, ...]) -> int:
    rates = {b.category: b.points_per_unit for b in rules.category_bonuses}
    extra = sum(
        (program.from_minor(item.amount_minor) * rates[item.category]
         for item in items if item.category in rates),
        Decimal(0),
    )  # fmt: skip
    return _floor(extra)


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))
