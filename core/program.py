"""The loyalty program: a TOML file validated on load into immutable settings.

Later features add their own optional sections (challenges, recognition, nudges) as new
fields of `Program`; unknown sections are refused so that a typo never goes unnoticed.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.challenge_rules import Challenge, check_challenges
from core.earning_rules import EarningRules
from core.errors import ProgramError
from core.guardrail_rules import Guardrails
from core.leaderboard_rules import LeaderboardRules
from core.link_rules import Linking
from core.nudge_rules import Nudges
from core.referral_rules import Referrals
from core.stores import Store, check_stores
from core.voucher_rules import Vouchers

# Every number the program sets ends up in a 64-bit database column or a date calculation:
# bounds here turn "price = 99999999999999999999" into a field error at load, not a crash later.
INT64_MAX = 2**63 - 1
LARGEST_MONEY = Decimal(10) ** 12  # currency units: far beyond any purchase, inside BIGINT
LARGEST_RATE = Decimal(10) ** 6
DAYS = 36_500  # a hundred years: further is a typo, and would overflow dates
PositiveInt = Annotated[int, Field(gt=0, le=INT64_MAX)]
Points = Annotated[int, Field(gt=0, le=10**12)]
Days = Annotated[int, Field(gt=0, le=DAYS)]
Money = Annotated[Decimal, Field(ge=0, le=LARGEST_MONEY, allow_inf_nan=False)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Emoji = Annotated[str, Field(pattern=r"^[a-z0-9_+'-]{1,64}$")]  # Slack's names: +1, heart_eyes
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
# A Slack channel as the program file names it: its id ("C0123ABCD") or "#name".
Channel = Annotated[str, Field(pattern=r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{1,20})$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProgramInfo(_Section):
    name: Name
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    currency_decimals: int = Field(default=2, ge=0, le=4)
    point_value: Decimal = Field(
        gt=0, le=LARGEST_RATE, description="money one point is worth, in currency units"
    )
    timezone: str = "UTC"
    locale: str = "en"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class Earning(_Section):
    points_per_unit: Decimal = Field(
        gt=0, le=LARGEST_RATE, description="points per currency unit spent"
    )
    max_points_per_purchase: Points | None = None
    max_purchase: Money | None = Field(default=None, gt=0)


class Tier(_Section):
    # The stable name stored for each member; a renamed tier keeps its members.
    id: Slug
    name: Name
    threshold: Money
    multiplier: Decimal = Field(default=Decimal(1), ge=1, le=10)
    perks: list[Name] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: object) -> object:
        # Files written before tiers had ids: "Gold" is stored as "gold".
        if isinstance(data, dict) and "id" not in data and isinstance(data.get("name"), str):
            slug = re.sub(r"[^a-z0-9]+", "-", data["name"].lower()).strip("-")[:32]
            return {**data, "id": slug or "tier"}
        return data


class TierQualification(_Section):
    measure: Literal["spend", "points"] = "spend"
    window_days: Days = 365
    # At the end of a member's tier window: drop one tier at a time, or straight to the tier
    # their qualifying spend (or points) reaches.
    downgrade: Literal["one_tier", "to_qualified"] = "one_tier"


class Reward(_Section):
    id: Slug
    name: Name
    price: Points
    stock: int | None = Field(default=None, ge=0, le=INT64_MAX)
    per_member_limit: PositiveInt | None = None
    voucher_valid_days: Days = 30


class Expiry(_Section):
    lot_lifetime_days: Days | None = 365


class Returns(_Section):
    hold_days: int = Field(default=0, ge=0, le=365)


class Refunds(_Section):
    when_spent: Literal["debt", "write_off"] = "debt"


class Awards(_Section):
    max_points: Points = 1000
    actions: dict[Slug, Points] = Field(default_factory=dict)


class Recognition(_Section):
    """Employee recognition: a monthly giving allowance spent on colleagues' earned points.

    Earned points are redeemed from the program's own `[[rewards]]` catalog.
    """

    monthly_allowance: Points = 50
    max_per_gift: Points = 10
    daily_pair_cap: Points = Field(default=20, description="giver -> receiver, per day")
    default_points: Points = 1
    values: list[Slug] = Field(default_factory=list, description="company values as #hashtags")
    require_value: bool = False
    reactions: dict[Emoji, Points] = Field(default_factory=dict, description="emoji -> points")
    teams: dict[Channel, Name] = Field(
        default_factory=dict, description="Slack channel (id or #name) -> team, for reports"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.default_points > self.max_per_gift:
            raise ValueError("recognition.default_points must not exceed max_per_gift")
        if self.max_per_gift > self.monthly_allowance:
            raise ValueError("recognition.max_per_gift must not exceed monthly_allowance")
        if self.require_value and not self.values:
            raise ValueError("recognition.require_value needs at least one value")
        return self


class Program(_Section):
    """A validated program file."""

    program: ProgramInfo
    earning: Earning
    tiers: list[Tier] = Field(min_length=1)
    tier_qualification: TierQualification = TierQualification()
    rewards: list[Reward] = Field(default_factory=list)
    expiry: Expiry = Expiry()
    returns: Returns = Returns()
    refunds: Refunds = Refunds()
    awards: Awards = Awards()
    recognition: Recognition | None = None
    earning_rules: EarningRules = EarningRules()
    vouchers: Vouchers = Vouchers()
    linking: Linking = Linking()
    stores: list[Store] = Field(default_factory=list)
    challenges: list[Challenge] = Field(default_factory=list)
    referrals: Referrals | None = None
    leaderboard: LeaderboardRules | None = None
    guardrails: Guardrails = Guardrails()
    nudges: Nudges | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len({tier.id for tier in self.tiers}) != len(self.tiers):
            raise ValueError("tiers: ids must be unique")
        check_stores(self.stores)
        check_challenges(self.challenges, set(self.awards.actions), {s.id for s in self.stores})
        if unknown := sorted(set(self.guardrails.action_limits) - set(self.awards.actions)):
            raise ValueError(f"guardrails.action_limits: unknown actions {unknown}")
        thresholds = [tier.threshold for tier in self.tiers]
        if thresholds[0] != 0:
            raise ValueError("tiers: the first tier must have threshold 0")
        if thresholds != sorted(set(thresholds)) or len(set(thresholds)) != len(thresholds):
            raise ValueError("tiers: thresholds must be strictly increasing")
        ids = [reward.id for reward in self.rewards]
        if len(ids) != len(set(ids)):
            raise ValueError("rewards: reward ids must be unique")
        if self.nudges is not None and self.nudges.near_reward is not None and not self.rewards:
            raise ValueError("nudges.near_reward needs at least one reward")
        lifetime = self.expiry.lot_lifetime_days
        if lifetime is not None and lifetime <= self.returns.hold_days:
            raise ValueError("expiry.lot_lifetime_days must be longer than returns.hold_days")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The program's time zone."""
        return ZoneInfo(self.program.timezone)

    def reward(self, reward_id: str) -> Reward | None:
        """The catalog entry with this id, if any."""
        return next((r for r in self.rewards if r.id == reward_id), None)

    def to_minor(self, amount: Decimal) -> int:
        """Money in currency units to integer minor units (refuses sub-minor precision)."""
        minor = amount.scaleb(self.program.currency_decimals)
        if minor != minor.to_integral_value():
            raise ValueError("too many decimals")
        return int(minor)

    def from_minor(self, minor: int) -> Decimal:
        """Integer minor units back to currency units."""
        return Decimal(minor).scaleb(-self.program.currency_decimals)

    def base_points(self, amount_minor: int, multiplier: Decimal) -> int:
        """Points a purchase earns: rate x multiplier, rounded down, capped."""
        raw = self.from_minor(amount_minor) * self.earning.points_per_unit * multiplier
        points = int(raw.to_integral_value(rounding=ROUND_FLOOR))
        cap = self.earning.max_points_per_purchase
        return min(points, cap) if cap is not None else points

    def points_value_minor(self, points: int) -> int:
        """Money `points` are worth, in minor units (for liability and savings)."""
        value = Decimal(points) * self.program.point_value
        return int(value.scaleb(self.program.currency_decimals).to_integral_value(ROUND_FLOOR))

    def end_of_day(self, moment: datetime, plus_days: int) -> datetime:
        """The last instant of the day `plus_days` after `moment`, in the program's zone."""
        local = moment.astimezone(self.zone).date() + timedelta(days=plus_days)
        next_midnight = datetime.combine(local + timedelta(days=1), time(0), tzinfo=self.zone)
        return next_midnight - timedelta(microseconds=1)

    def tier_index(self, tier_id: str) -> int | None:
        """Index of the tier with this stable id, or None when the file no longer has it."""
        return next((i for i, tier in enumerate(self.tiers) if tier.id == tier_id), None)

    def challenge(self, challenge_id: str) -> Challenge | None:
        """The challenge with this id, if any."""
        return next((c for c in self.challenges if c.id == challenge_id), None)

    def tier_for(self, qualifying: Decimal) -> int:
        """Index of the highest tier whose threshold `qualifying` reaches."""
        index = 0
        for i, tier in enumerate(self.tiers):
            if qualifying >= tier.threshold:
                index = i
        return index


def parse_program(text: str, source: str = "program") -> Program:
    """Validate program TOML text; ProgramError names each wrong field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProgramError(f"{source}: not valid TOML: {error}") from None
    try:
        return Program.model_validate(data)
    except ValidationError as error:
        raise ProgramError(_describe(source, error)) from None


def load_program(path: Path) -> Program:
    """Read and validate a program file (UTF-8 TOML)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProgramError(f"{path}: cannot read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ProgramError(
            f"{path}: line {line}: not UTF-8 text (save the file as UTF-8)"
        ) from None
    return parse_program(text.removeprefix("\ufeff"), str(path))


def _describe(source: str, error: ValidationError) -> str:
    lines = []
    for issue in error.errors():
        where = ".".join(str(part) for part in issue["loc"]) or "(top level)"
        message = issue["msg"].removeprefix("Value error, ")
        if issue["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        lines.append(f"{where}: {message}")
    return f"{source}: " + "; ".join(lines)
