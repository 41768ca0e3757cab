"""The recognition façade: one method per use case, each one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import recognition
from core.model import Gift, Member
from core.ports import Clock, RecognitionDatabase, RecognitionUnitOfWork
from core.program import Program
from core.recognition import Allowance, GiftResult, GiveKudos, RevokeResult


@dataclass(frozen=True)
class RecentGift:
    """A gift as one person sees it: received or given, and the colleague on the other side."""

    gift: Gift
    received: bool
    other: Member | None


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

        def top(uow: RecognitionUnitOfWork) -> list[tuple[Member, int]]:
            rows = uow.recognition.top_receivers(since, limit)
            members = [(uow.members.by_id(member_id), points) for member_id, points in rows]
            return [(member, points) for member, points in members if member is not None]

        return self.db.run(top, write=False)

    def recent(self, member_id: int, limit: int = 5) -> list[RecentGift]:
        """The member's latest gifts, given and received, with the other person, newest first."""

        def latest(uow: RecognitionUnitOfWork) -> list[RecentGift]:
            rows = []
            for gift in uow.recognition.recent_gifts(member_id, limit):
                received = gift.receiver_id == member_id
                other = uow.members.by_id(gift.giver_id if received else gift.receiver_id)
                rows.append(RecentGift(gift, received, other))
            return rows

        return self.db.run(latest, write=False)

    def month_start(self, now: datetime) -> datetime:
        """The start of the current month in the program's time zone."""
        local = now.astimezone(self.program.zone)
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
