"""The leaderboard: points earned this period, or progress on one challenge, with the reader's
own rank. A member who opted out in /settings never appears to others and sees their own rank
only; ranks count visible members only, ties share a rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import errors
from core.bus import MessageBus
from core.challenge_rules import Challenge
from core.challenges import member_zone
from core.events import BonusTakenBack, PointsAwarded, PurchaseRecorded, PurchaseRefunded
from core.gamification_model import Ranked
from core.ports import UnitOfWork
from core.program import Program
from core.windows import WindowKind, local_day, window_on


def points_period(program: Program, moment: datetime) -> str:
    """The leaderboard period `moment` falls in, in the program's time zone ("2026-03")."""
    rules = program.leaderboard
    kind = (
        WindowKind.WEEKLY if rules is not None and rules.period == "weekly" else WindowKind.MONTHLY
    )
    window = window_on(kind, local_day(moment, program.zone))
    assert window is not None  # weekly and monthly windows hold every day
    return window.period


@dataclass(frozen=True, kw_only=True)
class Standings:
    """A leaderboard as one member reads it."""

    challenge: Challenge | None  # None: points earned
    period: str
    top: list[Ranked]
    own_rank: int | None  # None: nothing counted for the reader yet
    own_score: int
    hidden: bool  # the reader opted out: they appear to nobody else


class LeaderboardScores:
    """The subscriber that adds up points earned per member and period."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def subscribe(self, bus: MessageBus) -> None:
        """Register the handlers (nothing when the program has no leaderboard)."""
        if self.program.leaderboard is None:
            return
        bus.subscribe(PurchaseRecorded, self.purchase_recorded)
        bus.subscribe(PointsAwarded, self.points_awarded)
        bus.subscribe(PurchaseRefunded, self.purchase_refunded)
        bus.subscribe(BonusTakenBack, self.bonus_taken_back)

    def purchase_recorded(self, event: PurchaseRecorded, uow: UnitOfWork) -> None:
        """Points a purchase earned count in the period it was made (an import of a period
        that is over changes no board anyone reads)."""
        made = event.purchased_at or event.occurred_at
        if event.quiet and points_period(self.program, made) != points_period(
            self.program, event.occurred_at
        ):
            return
        self._add(uow, event.member_id, made, event.points)

    def points_awarded(self, event: PointsAwarded, uow: UnitOfWork) -> None:
        """Awards and bonuses count too."""
        self._add(uow, event.member_id, event.occurred_at, event.points)

    def purchase_refunded(self, event: PurchaseRefunded, uow: UnitOfWork) -> None:
        """A refund takes its points off the period of the purchase."""
        if event.points:
            purchase = uow.purchases.get(event.receipt)
            when = purchase.occurred_at if purchase is not None else event.occurred_at
            self._add(uow, event.member_id, when, -event.points)

    def bonus_taken_back(self, event: BonusTakenBack, uow: UnitOfWork) -> None:
        """A bonus taken back comes off the period it was given in."""
        self._add(uow, event.member_id, event.awarded_at, -event.points)

    def _add(self, uow: UnitOfWork, member_id: int, when: datetime, points: int) -> None:
        if points:
            uow.leaderboard.add_points(points_period(self.program, when), member_id, points)


def standings(
    uow: UnitOfWork, program: Program, member_id: int, challenge: Challenge | None, now: datetime
) -> Standings:
    """The top of a leaderboard this period and the reader's own rank."""
    rules = program.leaderboard
    if rules is None:
        raise errors.LeaderboardOff()
    hidden = uow.leaderboard.is_hidden(member_id)
    if challenge is None:
        period = points_period(program, now)
        top = uow.leaderboard.top(period, rules.size)
        score = uow.leaderboard.score(period, member_id)
        rank = uow.leaderboard.rank(period, score) if score else None
    else:
        window = challenge.window_on(local_day(now, member_zone(uow, program, member_id)))
        if window is None:
            raise errors.ChallengeNotRunning(challenge=challenge.name)
        period = window.period
        top = uow.leaderboard.top_progress(challenge.id, period, rules.size)
        state = uow.challenges.state(member_id, [period], joins=False)
        record = state.progress.get((challenge.id, period))
        score = record.value if record is not None else None
        rank = uow.leaderboard.progress_rank(challenge.id, period, score) if score else None
    return Standings(
        challenge=challenge,
        period=period,
        top=top,
        own_rank=rank,
        own_score=score or 0,
        hidden=hidden,
    )
