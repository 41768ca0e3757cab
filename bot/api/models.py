"""The purchase API's JSON bodies (pydantic), which FastAPI turns into the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.earning_rules import NAME_PATTERN

DECIMAL = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
NAME = NAME_PATTERN
# Printable text: no control characters (PostgreSQL refuses NUL in text outright).
TEXT = r"^[^\x00-\x1f\x7f]*$"


class _In(BaseModel):
    # Tills send more than we need: unknown fields are ignored, as CSV columns are.
    model_config = ConfigDict(extra="ignore")


class ItemIn(_In):
    sku: str = Field(min_length=1, max_length=64, pattern=TEXT)
    category: str | None = Field(default=None, pattern=NAME)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    amount: str = Field(pattern=DECIMAL, description="the line's total, a decimal string")


class PurchaseIn(_In):
    member: str = Field(
        min_length=1,
        max_length=200,
        pattern=TEXT,
        description="a member code (K7Q-4MX2), a scanned card token, or customer:<id>",
        examples=["K7Q-4MX2"],
    )
    receipt: str = Field(min_length=1, max_length=100, pattern=TEXT, examples=["R-20931"])
    amount: str = Field(
        pattern=DECIMAL, description="in the program's currency", examples=["12.40"]
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    occurred_at: AwareDatetime | None = Field(
        default=None, description="ISO 8601 with an offset; default: now"
    )
    store: str | None = Field(default=None, pattern=NAME, examples=["main-st"])
    channel: str | None = Field(default=None, pattern=NAME, examples=["store"])
    items: list[ItemIn] = Field(default_factory=list, max_length=500)


class RefundIn(_In):
    receipt: str = Field(min_length=1, max_length=100, pattern=TEXT, examples=["R-20931"])
    refund_id: str = Field(min_length=1, max_length=100, pattern=TEXT, examples=["RF-1"])
    amount: str | None = Field(
        default=None, pattern=DECIMAL, description="default: what is left to refund"
    )


PointsStatus = Literal["pending", "available", "expired", "debt", "none"]


class PurchaseOut(BaseModel):
    receipt: str
    member: str = Field(description="the member's code")
    points: int
    status: PointsStatus = Field(
        description="where the points went: pending (return window), available, expired"
        " (a purchase older than the points' lifetime), debt (paid off a refund), none"
    )
    pending_until: datetime | None
    expires_at: datetime | None
    occurred_at: datetime
    tier: str
    multiplier: str
    promotion: str | None
    category_bonus: int


class RefundOut(BaseModel):
    receipt: str
    refund_id: str
    member: str
    amount: str
    points: int
    from_pending: int
    from_available: int
    shortfall: int
    policy: str


class FieldProblem(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """Every error: a stable code, a sentence, and for invalid input the fields at fault."""

    error: str
    message: str
    fields: list[FieldProblem] = Field(default_factory=list)
