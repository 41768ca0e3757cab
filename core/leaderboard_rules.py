"""The `[leaderboard]` section of the program file: ranking members by points earned."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LeaderboardRules(BaseModel):
    """Points earned per period (in the program's time zone), the top `size` shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: Literal["weekly", "monthly"] = "monthly"
    size: int = Field(default=10, ge=3, le=25)
