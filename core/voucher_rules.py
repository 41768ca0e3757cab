"""The program file's `[vouchers]` section: what happens to the points of a voucher that
expired unused."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Vouchers(BaseModel):
    """`expired = "return"` gives the points of an unused, expired voucher back to the member
    (through the ledger, once per voucher); `"keep"` leaves them spent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expired: Literal["return", "keep"] = Field(
        default="return", description="points of expired, unused vouchers"
    )
