"""The `[referrals]` section of the program file: what inviting a friend is worth."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Referrals(BaseModel):
    """Both sides are rewarded at the friend's first qualifying purchase; the points stay
    pending for the return window and are taken back if that purchase is refunded in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    referrer_points: int = Field(default=100, ge=0, le=100_000)
    friend_points: int = Field(default=100, ge=0, le=100_000)
    min_purchase: Decimal = Field(default=Decimal(0), ge=0, description="first purchase at least")
    monthly_cap: int = Field(default=10, gt=0, description="rewarded referrals per referrer")
