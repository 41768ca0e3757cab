"""The `[guardrails]` section of the program file: limits that keep points from being farmed."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class ActionLimit(StrEnum):
    """How often one program action may be awarded to one member."""

    ONCE = "once"
    YEARLY = "yearly"
    MONTHLY = "monthly"
    WEEKLY = "weekly"
    DAILY = "daily"
    PER_RECEIPT = "per_receipt"  # the award names a receipt of the member's


class SelfService(StrEnum):
    """Who may record purchases or award points to themselves."""

    NOBODY = "nobody"
    ADMINS = "admins"
    STAFF = "staff"


class Guardrails(BaseModel):
    """Staff self-service and per-action limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    self_service: SelfService = SelfService.NOBODY
    action_limits: dict[Slug, ActionLimit] = Field(default_factory=dict)
