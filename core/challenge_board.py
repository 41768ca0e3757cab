"""What /challenges shows: each challenge in its current window, where the member stands, what
is left and by when; streaks with "ends tonight"; and the badges a member holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.challenge_rules import Badge, Challenge, ChallengeKind
from core.challenges import member_zone
from core.gamification_model import ProgressRecord
from core.ports import UnitOfWork
from core.program import Program
from core.progress import target_of
from core.windows import Window, local_day


@dataclass(frozen=True, kw_only=True)
class ChallengeStatus:
    """One challenge as one member sees it today."""

    challenge: Challenge
    window: Window | None  # None: a fixed window that has not started yet
    today: date
    value: int = 0
    target: int = 0
    joined: bool = True  # automatic challenges: everyone takes part
    completed: bool = False
    streak: int = 0  # a streak challenge's current run, if still alive
    streak_last_day: date | None = None  # its latest visit
    streak_ends_on: date | None = None  # the last day a visit keeps it going

    @property
    def left(self) -> int:
        """What is still to do: visits, minor units, items, days or actions."""
        return max(self.target - self.value, 0)

    @property
    def percent(self) -> int:
        """Progress towards the target, 0-100."""
        return min(100, self.value * 100 // self.target) if self.target else 0

    @property
    def ends_tonight(self) -> bool:
        """A streak that ends at midnight unless the member visits today."""
        return self.streak > 0 and self.streak_ends_on == self.today

    @property
    def visited_today(self) -> bool:
        """The member already visited today: the streak is safe until tomorrow at least."""
        return self.streak > 0 and self.streak_last_day == self.today


@dataclass(frozen=True, kw_only=True)
class EarnedBadge:
    """A badge a member holds, and how often they earned it."""

    badge: Badge
    times: int
    last_earned: datetime


def challenge_board(
    uow: UnitOfWork, program: Program, member_id: int, now: datetime
) -> list[ChallengeStatus]:
    """Every challenge that is open or about to start, as the member stands today."""
    today = local_day(now, member_zone(uow, program, member_id))
    windows = {c.id: c.window_on(today) for c in program.challenges}
    periods = sorted({w.period for w in windows.values() if w is not None})
    state = uow.challenges.state(member_id, periods, joins=True)
    statuses = []
    for challenge in program.challenges:
        window = windows[challenge.id]
        joined = not challenge.opt_in or challenge.id in state.joined
        if window is None:
            if challenge.starts is not None and today < challenge.starts:  # coming up
                statuses.append(
                    ChallengeStatus(challenge=challenge, window=None, today=today, joined=joined)
                )
            continue
        record = state.progress.get((challenge.id, window.period))
        statuses.append(_status(program, challenge, window, today, joined, record))
    return statuses


def _status(
    program: Program,
    challenge: Challenge,
    window: Window,
    today: date,
    joined: bool,
    record: ProgressRecord | None,
) -> ChallengeStatus:
    target = record.target if record else target_of(challenge, program.program.currency_decimals)
    streak, ends_on = 0, None
    if challenge.kind is ChallengeKind.STREAK and record and record.streak_last_day is not None:
        ends_on = record.streak_last_day + timedelta(days=challenge.grace_days + 1)
        if today <= ends_on:  # still alive: a visit by `ends_on` continues it
            streak = record.streak
    return ChallengeStatus(
        challenge=challenge,
        window=window,
        today=today,
        value=record.value if record else 0,
        target=target,
        joined=joined,
        completed=record is not None and record.completed_at is not None,
        streak=streak,
        streak_last_day=record.streak_last_day if streak and record else None,
        streak_ends_on=ends_on if streak else None,
    )


def earned_badges(uow: UnitOfWork, program: Program, member_id: int) -> list[EarnedBadge]:
    """The member's badges, most recently earned first (a badge the program no longer
    describes keeps its id as its name)."""
    known = {c.badge.id: c.badge for c in program.challenges if c.badge is not None}
    return [
        EarnedBadge(
            badge=known.get(held.badge_id) or Badge(id=held.badge_id, name=held.badge_id),
            times=held.times,
            last_earned=held.last_earned,
        )
        for held in uow.challenges.badges(member_id)
    ]
