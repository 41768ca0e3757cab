"""The recognition façade: one method per use case, each one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from core import recognition, sweeps
from core.model import Gift, Member
from core.ports import Clock, RecognitionDatabase, RecognitionUnitOfWork
from core.program import Program
from core.recognition import Allowance, GiftResult, GiveKudos, RevokeResult
from core.results import RewardOption
from core.summary import reward_options

T = TypeVar("T")


@dataclass(frozen=True)
class RecentGift:
    """A gift as one person sees it: received or given, and the colleague on the other side."""

    gift: Gift
    received: bool
    other: Member | None


@dataclass(frozen=True, kw_only=True)
class Standing:
    """Where one person stands, read at once: points to spend, allowance to give, this
    month's top receivers, their latest gifts and the catalog at their balance."""

    available: int
    allowance: Allowance
    leaderboard: list[tuple[Member, int]]
    recent: list[RecentGift]
    rewards: list[RewardOption]


class Kudos:
    """Recognition use cases over one database."""

    def __init__(self, db: RecognitionDatabase, program: Program, clock: Clock) -> None:
        self.db = db
        self.program = program
        self.clock = clock

    def give(self, command: GiveKudos) -> GiftResult:
        """Give a colleague points from the monthly allowance (once per key)."""
        now = self.clock.now()
        return self.db.run(lambda uow: recognition.give(uow, self.program, command, now))

    def revoke(self, key: str, actor_id: int | None) -> RevokeResult | None:
        """Take back the gift recorded under `key` (a removed reaction), once."""
        now = self.clock.now()
        return self.db.run(lambda uow: recognition.revoke(uow, self.program, key, actor_id, now))

    def allowance(self, member_id: int, zone: str | None) -> Allowance:
        """What a person may still give this month in their time zone."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: recognition.allowance(uow, self.program, member_id, zone, now),
            write=False,
        )

    def leaderboard(self, limit: int = 5) -> list[tuple[Member, int]]:
        """Who received most this month (program time zone), with their points."""
        since = self.month_start(self.clock.now())
        return self.db.run(lambda uow: _top(uow, since, limit), write=False)

    def recent(self, member_id: int, limit: int = 5) -> list[RecentGift]:
        """The member's latest gifts, given and received, with the other person, newest first."""
        return self.db.run(lambda uow: _latest(uow, member_id, limit), write=False)

    def wallet(self, member_id: int, zone: str | None) -> tuple[int, Allowance]:
        """Points the member can spend and what they may still give, in one read."""
        now = self.clock.now()

        def read(uow: RecognitionUnitOfWork) -> tuple[int, Allowance]:
            available = uow.ledger.balances(uow.members.accounts(member_id)).available
            return available, recognition.allowance(uow, self.program, member_id, zone, now)

        return self._after_release(member_id, now, read)

    def standing(
        self, member_id: int, zone: str | None, leaders: int = 5, recent: int = 5
    ) -> Standing:
        """Everything the member's overview shows, in one read."""
        now = self.clock.now()
        since = self.month_start(now)

        def read(uow: RecognitionUnitOfWork) -> Standing:
            available = uow.ledger.balances(uow.members.accounts(member_id)).available
            return Standing(
                available=available,
                allowance=recognition.allowance(uow, self.program, member_id, zone, now),
                leaderboard=_top(uow, since, leaders),
                recent=_latest(uow, member_id, recent),
                rewards=reward_options(uow, self.program, available),
            )

        return self._after_release(member_id, now, read)

    def _after_release(
        self, member_id: int, now: datetime, read: Callable[[RecognitionUnitOfWork], T]
    ) -> T:
        """`read`, after releasing the member's held points that are due (rarely a write)."""

        def due(uow: RecognitionUnitOfWork) -> tuple[T, bool]:
            release = uow.ledger.next_release(member_id)
            return read(uow), release is not None and release[0] <= now

        result, released = self.db.run(due, write=False)
        if not released:
            return result
        self.db.run(lambda uow: sweeps.release_member_due(uow, member_id, now))
        return self.db.run(read, write=False)

    def month_start(self, now: datetime) -> datetime:
        """The start of the current month in the program's time zone."""
        local = now.astimezone(self.program.zone)
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _top(uow: RecognitionUnitOfWork, since: datetime, limit: int) -> list[tuple[Member, int]]:
    if limit <= 0:
        return []
    rows = uow.recognition.top_receivers(since, limit)
    members = [(uow.members.by_id(member_id), points) for member_id, points in rows]
    return [(member, points) for member, points in members if member is not None]


def _latest(uow: RecognitionUnitOfWork, member_id: int, limit: int) -> list[RecentGift]:
    if limit <= 0:
        return []
    rows = []
    for gift in uow.recognition.recent_gifts(member_id, limit):
        received = gift.receiver_id == member_id
        other = uow.members.by_id(gift.giver_id if received else gift.receiver_id)
        rows.append(RecentGift(gift, received, other))
    return rows
