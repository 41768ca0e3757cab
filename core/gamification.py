"""The gamification façade: one method per use case (challenges, check-in, leaderboard,
referrals, badges, the tier review), each one transaction.

The effects of these use cases on other features, and of other features on these (a purchase
moving a challenge, a refund taking a reward back), are event handlers registered by
`subscribe`; this façade only starts use cases and reads where a member stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from core import deliveries, errors
from core.attempts import STORE_CODES, guarded
from core.bus import MessageBus
from core.challenge_board import ChallengeStatus, EarnedBadge, challenge_board, earned_badges
from core.challenge_rules import Challenge
from core.challenges import ChallengeTracker, find_challenge
from core.checkin import CheckinResult, StoreCode, check_in, codes_today, matching_store
from core.events import ChallengesProgressed, DomainEvents, ProgressChange
from core.guardrails import Guardrails
from core.leaderboard import LeaderboardScores, Standings, standings
from core.ports import Clock, Database, UnitOfWork
from core.program import Program
from core.referrals import ReferralInfo, ReferralRewards, referral_info
from core.results import SweepResult
from core.text import shown
from core.tiers import TierCoach, review_due

T = TypeVar("T")


def subscribe(bus: MessageBus, program: Program) -> None:
    """Every gamification handler, guardrails first (a refusal spares the others' work)."""
    Guardrails(program).subscribe(bus)
    TierCoach(program).subscribe(bus)
    ChallengeTracker(program).subscribe(bus)
    ReferralRewards(program).subscribe(bus)
    LeaderboardScores(program).subscribe(bus)


@dataclass(frozen=True, kw_only=True)
class CheckinOutcome:
    """A check-in and what it moved."""

    checkin: CheckinResult
    changes: tuple[ProgressChange, ...] = ()


@dataclass(frozen=True, kw_only=True)
class JoinOutcome:
    """A challenge joined (or joined before) and where the member stands on it."""

    challenge: Challenge
    joined_now: bool
    status: ChallengeStatus | None


class Gamification:
    """Gamification use cases over one database."""

    def __init__(
        self,
        db: Database,
        program: Program,
        clock: Clock,
        store_secret: bytes,
    ) -> None:
        self.db = db
        self.program = program
        self.clock = clock
        self._secret = store_secret
        self._tracker = ChallengeTracker(program)
        self._coach = TierCoach(program)

    def challenges(self, member_id: int) -> list[ChallengeStatus]:
        """Every open or upcoming challenge as the member stands on it today."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: challenge_board(uow, self.program, member_id, now), write=False
        )

    def join(self, member_id: int, text: str) -> JoinOutcome:
        """Join an opt-in challenge by id or name (joining twice changes nothing)."""
        challenge = find_challenge(self.program, text)
        if not challenge.opt_in:
            raise errors.NotOptIn(challenge=challenge.name)
        now = self.clock.now()
        return self.db.run(lambda uow: self._join(uow, member_id, challenge, now))

    def _join(
        self, uow: UnitOfWork, member_id: int, challenge: Challenge, now: datetime
    ) -> JoinOutcome:
        joined = uow.challenges.join(member_id, challenge.id, now)
        if joined:  # what the member did earlier today counts from the start
            self._tracker.joined(uow, member_id, challenge, now)
        board = challenge_board(uow, self.program, member_id, now)
        status = next((s for s in board if s.challenge.id == challenge.id), None)
        return JoinOutcome(challenge=challenge, joined_now=joined, status=status)

    def check_in(self, member_id: int, code: str, store: str | None = None) -> CheckinOutcome:
        """Count a visit with today's store code, and say what it moved. Store codes are short,
        so each code typed is a guess counted per member, in its own transaction (a wrong one
        counts even though the check-in is refused)."""
        now = self.clock.now()
        # A preparatory write, as Loyalty.guarded's: the check-in's own transaction settles
        # the delivery, so a crash between the two means "handled again", not "lost".
        with deliveries.aside():
            found = self.db.run(
                lambda uow: guarded(
                    uow,
                    STORE_CODES,
                    f"member:{member_id}",
                    now,
                    lambda: matching_store(self.program, self._secret, code, now, store),
                )
            )
        if found is None:
            raise errors.WrongStoreCode(code=shown(code.strip().upper()))
        matched, day = found
        result, events = self.db.run(
            lambda uow: self._with_events(
                uow,
                lambda: check_in(
                    uow, self.program, member_id=member_id, store=matched, day=day, now=now
                ),
            )
        )
        changes = tuple(
            change
            for event in events.recorded
            if isinstance(event, ChallengesProgressed)
            for change in event.changes
        )
        return CheckinOutcome(checkin=result, changes=changes)

    @staticmethod
    def _with_events(uow: UnitOfWork, work: Callable[[], T]) -> tuple[T, DomainEvents]:
        # The handlers run after `work`, before the commit; the events they record (what the
        # check-in moved) land on the same object, which is read once the transaction is done.
        return work(), uow.domain_events

    def store_codes(self, store: str | None = None) -> list[StoreCode]:
        """Today's code of one store, or of every store (for staff)."""
        return codes_today(self.program, self._secret, self.clock.now(), store)

    def leaderboard(self, member_id: int, challenge_text: str | None = None) -> Standings:
        """This period's leaderboard by points earned, or by progress on one challenge."""
        challenge = find_challenge(self.program, challenge_text) if challenge_text else None
        now = self.clock.now()
        return self.db.run(
            lambda uow: standings(uow, self.program, member_id, challenge, now), write=False
        )

    def referral(self, member_id: int) -> ReferralInfo:
        """The member's invitation and how their invitations went."""
        return self.db.run(lambda uow: referral_info(uow, self.program, member_id), write=False)

    def badges(self, member_id: int) -> list[EarnedBadge]:
        """The badges a member holds."""
        return self.db.run(lambda uow: earned_badges(uow, self.program, member_id), write=False)

    def review_tiers(self, limit: int = 500) -> SweepResult:
        """Keep or drop the tiers whose window has ended (a transaction per member)."""
        return review_due(self.db, self._coach, self.clock.now(), limit)
