"""The program file's `[linking]` section: one wallet per person across chat platforms."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Linking(BaseModel):
    """`/link` joins a second chat identity to a member; `merge_members` says whether two
    memberships that both hold points may be merged into one (through a transfer journal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    merge_members: bool = True
    code_minutes: int = Field(default=10, ge=1, le=1440, description="how long a /link code lives")
