"""The gamification test world with a `[nudges]` section and the nudge planner wired over it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.model import Member
from core.nudges import NudgePlan, NudgePlanner
from core.program import Program, parse_program
from storage.nudge_store import SqlNudgeStore
from tests.storage.gamification_support import PROGRAM, World, world

NUDGES = """
[nudges]
send_from = 10:00:00
per_day = {per_day}
per_week = {per_week}
[nudges.near_reward]
within_points = 50
[nudges.points_expiring]
days = 14
[nudges.voucher_expiring]
days = 3
[nudges.streak]
[nudges.challenge_ending]
[nudges.winback]
days = 30
bonus_points = 40
[nudges.tier_keep]
days = 14
[nudges.birthday]
bonus_points = 100

[[rewards]]
id = "latte"
name = "Latte"
price = 200
"""


def nudge_program(per_day: int = 1, per_week: int = 3, window_days: int = 90) -> Program:
    """The gamification test program (New York) with every nudge kind on."""
    text = PROGRAM.format(
        window_days=window_days, downgrade="one_tier", hold_days=0, self_service="nobody", cap=2
    )
    return parse_program(text + NUDGES.format(per_day=per_day, per_week=per_week), "nudges")


@dataclass
class NudgeWorld:
    """The world plus its planner."""

    w: World
    planner: NudgePlanner

    def plan(self, at: datetime, dry_run: bool = False) -> NudgePlan:
        self.w.at(at)
        return self.planner.plan(at.astimezone(UTC), dry_run=dry_run)

    def nudges(self, member: Member) -> list[tuple[str, str]]:
        """(category, message key) of the member's nudges in the outbox, oldest first."""
        rows = self.w.rows(
            "SELECT category, message_key FROM outbox WHERE member_id = :m"
            " AND dedupe_key LIKE 'nudge:%' ORDER BY id",
            m=member.id,
        )
        return [(str(row[0]), str(row[1])) for row in rows]

    def outbox_row(self, member: Member, category: str) -> dict[str, Any]:
        rows = self.w.rows(
            "SELECT params, buttons, dedupe_key FROM outbox WHERE member_id = :m AND category = :c",
            m=member.id,
            c=category,
        )
        assert len(rows) == 1, rows
        return {"params": rows[0][0], "buttons": rows[0][1], "dedupe_key": rows[0][2]}


@contextmanager
def nudge_world(
    url: str, program: Program | None = None, at: datetime | None = None
) -> Iterator[NudgeWorld]:
    """A world over `url` with the planner over the same database."""
    program = program or nudge_program()
    with world(url, program, at) as w:
        yield NudgeWorld(w=w, planner=NudgePlanner(SqlNudgeStore(w.db), w.db, program))
