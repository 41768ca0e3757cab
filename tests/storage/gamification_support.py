"""A small program with every gamification section, and the app wired as the bootstrap wires it
(the program's event handlers on the bus), over a test database with a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from bot.bootstrap import message_bus
from core.commands import AwardPoints, RecordPurchase, RefundPurchase
from core.gamification import Gamification
from core.loyalty import Loyalty
from core.model import Identity, Member, Role
from core.program import Program, parse_program
from storage.database import SqlDatabase
from tests.storage.ledger_checks import ManualClock

SECRET = b"test-store-secret"

PROGRAM = """
[program]
name = "Test Coffee"
currency = "USD"
point_value = "0.05"
timezone = "America/New_York"

[earning]
points_per_unit = "1"

[tier_qualification]
measure = "spend"
window_days = {window_days}
downgrade = "{downgrade}"

[[tiers]]
id = "green"
name = "Green"
threshold = "0"

[[tiers]]
id = "silver"
name = "Silver"
threshold = "150"
multiplier = "1.25"

[[tiers]]
id = "gold"
name = "Gold"
threshold = "500"
multiplier = "1.5"

[[rewards]]
id = "cookie"
name = "Cookie"
price = 150

[returns]
hold_days = {hold_days}

[refunds]
when_spent = "debt"

[awards]
max_points = 500
[awards.actions]
review = 50
social_share = 10
birthday = 100
signup = 5

[guardrails]
self_service = "{self_service}"
[guardrails.action_limits]
signup = "once"
review = "per_receipt"
birthday = "yearly"
social_share = "daily"

[[stores]]
id = "main-st"
name = "Main St"

[[stores]]
id = "harbour"
name = "Harbour"
timezone = "Asia/Tokyo"

[[challenges]]
id = "three-visits"
name = "Three visits"
kind = "visits"
target = 3
window = "weekly"
points = 50

[[challenges]]
id = "streak"
name = "Three days in a row"
kind = "streak"
target = 3
window = "monthly"
points = 30
badge = {{ id = "on-fire", name = "On fire" }}

[[challenges]]
id = "lenient-streak"
name = "Three days, one off"
kind = "streak"
target = 3
grace_days = 1
window = "monthly"
points = 10

[[challenges]]
id = "spend-30"
name = "Spend $30"
kind = "spend"
target = "30"
window = "monthly"
join = "opt_in"
points = 100

[[challenges]]
id = "pastries"
name = "Two pastries"
kind = "distinct"
categories = ["pastry"]
target = 2
window = "monthly"
badge = {{ id = "pastry", name = "Pastry explorer" }}

[[challenges]]
id = "reviews"
name = "Two reviews"
kind = "actions"
actions = ["review", "social_share"]
target = 2
window = "monthly"
points = 20

[leaderboard]
period = "monthly"
size = 5

[referrals]
referrer_points = 100
friend_points = 50
min_purchase = "10"
monthly_cap = {cap}
"""


def game_program(
    *,
    window_days: int = 90,
    downgrade: str = "one_tier",
    hold_days: int = 14,
    self_service: str = "nobody",
    cap: int = 2,
) -> Program:
    """The test program, with a few knobs."""
    text = PROGRAM.format(
        window_days=window_days,
        downgrade=downgrade,
        hold_days=hold_days,
        self_service=self_service,
        cap=cap,
    )
    return parse_program(text, "game-program")


def who(name: str, zone: str | None = None, platform: str = "telegram") -> Identity:
    """A chat identity; `zone` as a chat platform reports it (Slack's profile)."""
    return Identity(
        platform=platform,
        external_id=f"id-{name}",
        display_name=name.title(),
        username=name,
        time_zone=zone,
    )


@dataclass
class World:
    """The core façades over one database, with the program's handlers on its bus."""

    db: SqlDatabase
    program: Program
    clock: ManualClock
    loyalty: Loyalty
    games: Gamification
    receipts: int = 0

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def join(self, name: str, zone: str | None = None, payload: str | None = None) -> Member:
        return self.loyalty.enroll(who(name, zone), payload).member

    def staff(self, name: str = "sam") -> Member:
        member = self.join(name)
        return self.loyalty.set_role(member.code, Role.STAFF)

    def buy(
        self, member: Member, amount_minor: int, receipt: str | None = None, by: int | None = None
    ) -> str:
        self.receipts += 1
        receipt = receipt or f"R-{self.receipts}"
        self.loyalty.record_purchase(
            RecordPurchase(
                member_id=member.id, receipt=receipt, amount_minor=amount_minor, actor_id=by
            )
        )
        return receipt

    def refund(self, receipt: str, amount_minor: int | None = None) -> None:
        self.receipts += 1
        self.loyalty.refund(
            RefundPurchase(
                receipt=receipt, refund_id=f"F-{self.receipts}", amount_minor=amount_minor
            )
        )

    def award(self, member: Member, action: str, reason: str, by: int | None = None) -> None:
        self.receipts += 1
        self.loyalty.award(
            AwardPoints(
                member_id=member.id,
                key=f"award-{self.receipts}",
                reason=reason,
                action=action,
                actor_id=by,
            )
        )

    def at(self, moment: datetime) -> None:
        self.clock.at = moment.astimezone(UTC)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def progress(self, member: Member) -> dict[tuple[str, str], int]:
        """(challenge, period) -> value of every stored progress row of a member."""
        rows = self.rows(
            "SELECT challenge_id, period, value FROM challenge_progress WHERE member_id = :m",
            m=member.id,
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}

    def balance(self, member: Member) -> tuple[int, int, int]:
        """(available, pending, debt) from the cached balances."""
        summary = self.loyalty.balance(member.id)
        return summary.available, summary.pending, summary.debt

    def journals(self, member: Member, prefix: str) -> list[str]:
        """Keys of the member's journals that start with `prefix`, in order."""
        rows = self.rows(
            "SELECT key FROM journal WHERE member_id = :m AND key LIKE :prefix ORDER BY id",
            m=member.id,
            prefix=prefix + "%",
        )
        return [row[0] for row in rows]

    def outbox(self, member: Member) -> list[str]:
        """Catalog keys of the member's outbox messages, in order."""
        rows = self.rows(
            "SELECT message_key FROM outbox WHERE member_id = :m ORDER BY id", m=member.id
        )
        return [row[0] for row in rows]


@contextmanager
def world(url: str, program: Program | None = None, at: datetime | None = None) -> Iterator[World]:
    """The app over `url` (migrated), wired with the program's handlers."""
    program = program or game_program()
    clock = ManualClock(at or datetime(2026, 3, 4, 15, 0, tzinfo=UTC))
    db = SqlDatabase.from_url(url, bus=message_bus(program))
    try:
        yield World(
            db=db,
            program=program,
            clock=clock,
            loyalty=Loyalty(db, program, clock),
            games=Gamification(db, program, clock, SECRET),
        )
    finally:
        db.dispose()
