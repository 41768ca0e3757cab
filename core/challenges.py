"""Challenges: the subscriber that counts purchases, check-ins and actions towards them, and
the read model behind /challenges.

Every counted event becomes a fact kept by its key (so the same event twice is one fact), then
the progress of each challenge it touches is computed afresh from the facts of its window
(`core.progress`) and written with one upsert for all of them. Reaching a target rewards once
per member, challenge and period (a ledger key); a refund that takes progress back below the
target in the open period takes the reward back through the ledger's claw-back path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo

from core import errors
from core.bonuses import give_bonus, take_back_bonus
from core.bus import MessageBus
from core.challenge_rules import (
    ITEM_KINDS,
    PURCHASE_KINDS,
    VISIT_KINDS,
    Challenge,
    ChallengeKind,
)
from core.events import (
    ChallengesProgressed,
    CheckedIn,
    PointsAwarded,
    ProgressChange,
    PurchaseRecorded,
    PurchaseRefunded,
)
from core.gamification_model import ChallengeState, ProgressRecord
from core.model import Purpose
from core.outbox import MessageButton, OutboxMessage, Recipient
from core.ports import UnitOfWork
from core.program import Program
from core.progress import (
    Fact,
    FactKind,
    FactRow,
    ItemFact,
    current_streak,
    progress_value,
    target_of,
)
from core.windows import Window, local_day, local_midnight
from core.zones import is_zone, zone_of

ACTION_KINDS = frozenset({ChallengeKind.ACTIONS})


def member_zone(uow: UnitOfWork, program: Program, member_id: int) -> tzinfo:
    """The member's time zone: their choice, their chat platform's, else the program's."""
    chosen, platform_zones = uow.challenges.time_zones(member_id)
    name = chosen or next((z for z in platform_zones if is_zone(z)), None)
    return zone_of(name, program.zone)


@dataclass(frozen=True, kw_only=True)
class _Counted:
    """One event to count: whose, which local day, what it moves, and who did it."""

    member_id: int
    day: date
    zone: tzinfo
    kinds: frozenset[ChallengeKind]
    source: str
    at: datetime
    by_member: bool = False


class ChallengeTracker:
    """Counts events towards the program's challenges, inside the event's transaction."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._counted_actions = frozenset(
            action for c in program.challenges for action in c.actions
        )

    def subscribe(self, bus: MessageBus) -> None:
        """Register the handlers (nothing when the program has no challenges)."""
        if not self.program.challenges:
            return
        bus.subscribe(PurchaseRecorded, self.purchase_recorded)
        bus.subscribe(PurchaseRefunded, self.purchase_refunded)
        bus.subscribe(CheckedIn, self.checked_in)
        bus.subscribe(PointsAwarded, self.points_awarded)
        bus.subscribe(ChallengesProgressed, self.notify)

    def purchase_recorded(self, event: PurchaseRecorded, uow: UnitOfWork) -> None:
        """A purchase is a visit, money spent and items bought."""
        zone = member_zone(uow, self.program, event.member_id)
        day = local_day(event.occurred_at, zone)
        key = f"purchase:{event.receipt}"
        fact = FactRow(
            key=key,
            ref=key,
            kind=FactKind.PURCHASE,
            day=day,
            store=event.store,
            amount_minor=event.amount_minor,
        )
        if not uow.challenges.add_fact(event.member_id, fact, event.occurred_at):
            return
        if event.items:
            uow.challenges.add_items(
                event.member_id,
                [
                    ItemFact(
                        ref=key,
                        line=line,
                        day=day,
                        sku=item.sku,
                        category=item.category,
                        amount_minor=item.amount_minor,
                    )
                    for line, item in enumerate(event.items)
                ],
            )
        self.count(
            uow,
            _Counted(
                member_id=event.member_id,
                day=day,
                zone=zone,
                kinds=PURCHASE_KINDS,
                source=key,
                at=event.occurred_at,
            ),
        )

    def purchase_refunded(self, event: PurchaseRefunded, uow: UnitOfWork) -> None:
        """A refund is a negative fact of its purchase: it takes back what that gave."""
        purchase = uow.challenges.fact(event.member_id, f"purchase:{event.receipt}")
        if purchase is None:  # counted before challenges existed, or not at all
            return
        key = f"refund:{event.refund_id}"
        fact = replace(purchase, key=key, amount_minor=-event.amount_minor)
        if not uow.challenges.add_fact(event.member_id, fact, event.occurred_at):
            return
        zone = member_zone(uow, self.program, event.member_id)
        self.count(
            uow,
            _Counted(
                member_id=event.member_id,
                day=purchase.day,
                zone=zone,
                kinds=PURCHASE_KINDS,
                source=key,
                at=event.occurred_at,
            ),
        )

    def checked_in(self, event: CheckedIn, uow: UnitOfWork) -> None:
        """A check-in is a visit on the member's local day."""
        zone = member_zone(uow, self.program, event.member_id)
        day = local_day(event.occurred_at, zone)
        key = f"checkin:{event.store_id}:{event.day.isoformat()}"
        fact = FactRow(key=key, ref=key, kind=FactKind.CHECKIN, day=day, store=event.store_id)
        if not uow.challenges.add_fact(event.member_id, fact, event.occurred_at):
            return
        self.count(
            uow,
            _Counted(
                member_id=event.member_id,
                day=day,
                zone=zone,
                kinds=VISIT_KINDS,
                source=key,
                at=event.occurred_at,
                by_member=True,
            ),
        )

    def points_awarded(self, event: PointsAwarded, uow: UnitOfWork) -> None:
        """An awarded program action (a review, a share) counts towards actions challenges."""
        if event.action is None or event.action not in self._counted_actions:
            return
        zone = member_zone(uow, self.program, event.member_id)
        day = local_day(event.occurred_at, zone)
        key = f"action:{event.journal_id}"
        fact = FactRow(key=key, ref=key, kind=FactKind.ACTION, day=day, action=event.action)
        if not uow.challenges.add_fact(event.member_id, fact, event.occurred_at):
            return
        self.count(
            uow,
            _Counted(
                member_id=event.member_id,
                day=day,
                zone=zone,
                kinds=ACTION_KINDS,
                source=key,
                at=event.occurred_at,
            ),
        )

    def joined(self, uow: UnitOfWork, member_id: int, challenge: Challenge, now: datetime) -> None:
        """Count what the member did earlier today towards a challenge they just joined."""
        zone = member_zone(uow, self.program, member_id)
        self.count(
            uow,
            _Counted(
                member_id=member_id,
                day=local_day(now, zone),
                zone=zone,
                kinds=frozenset({challenge.kind}),
                source=f"join:{challenge.id}",
                at=now,
                by_member=True,
            ),
        )

    def count(self, uow: UnitOfWork, counted: _Counted) -> None:
        """Recompute every challenge the event touches and save what changed in one write."""
        candidates = [
            (c, w)
            for c in self.program.challenges
            if c.counts(counted.kinds) and (w := c.window_on(counted.day))
        ]
        if not candidates:
            return
        periods = sorted({w.period for _, w in candidates})
        joins = any(c.opt_in for c, _ in candidates)
        state = uow.challenges.state(counted.member_id, periods, joins)
        taking_part = [(c, w) for c, w in candidates if not c.opt_in or c.id in state.joined]
        if not taking_part:
            return
        facts, items = _facts(uow, counted.member_id, taking_part)
        records: list[ProgressRecord] = []
        changes: list[ProgressChange] = []
        for challenge, window in taking_part:
            since = _joined_day(state, challenge, counted.zone)
            counted_facts = [f for f in facts if since is None or f.day >= since]
            record, change = self._progress(
                uow, counted, challenge, window, state, counted_facts, items
            )
            if change is not None:
                records.append(record)
                changes.append(change)
        if records:
            uow.challenges.save_progress(counted.member_id, records, counted.at)
            uow.domain_events.record(
                ChallengesProgressed(
                    occurred_at=counted.at,
                    member_id=counted.member_id,
                    source=counted.source,
                    changes=tuple(changes),
                    by_member=counted.by_member,
                )
            )

    def _progress(
        self,
        uow: UnitOfWork,
        counted: _Counted,
        challenge: Challenge,
        window: Window,
        state: ChallengeState,
        facts: list[Fact],
        items: list[ItemFact],
    ) -> tuple[ProgressRecord, ProgressChange | None]:
        """The challenge's new record, and what changed (None: nothing)."""
        previous = state.progress.get((challenge.id, window.period))
        base = previous or new_record(self.program, challenge, window, counted.zone)
        value = progress_value(challenge, window, facts, items)
        record = _with_streak(replace(base, value=value), challenge, window, facts, counted.zone)
        completed = undone = False
        if value >= base.target and base.completed_at is None:
            record, completed = self._reward(uow, counted, challenge, record), True
        elif value < base.target and base.completed_at is not None and counted.at < base.window_end:
            record, undone = self._take_back(uow, counted, challenge, record), True
        if record == previous or (previous is None and record == base):
            return record, None  # nothing moved (no row for a challenge not begun)
        change = ProgressChange(
            challenge_id=challenge.id,
            period=window.period,
            before=previous.value if previous else 0,
            value=value,
            target=base.target,
            last_day=window.last_day,
            completed=completed,
            undone=undone,
            points=record.reward_points if completed else 0,
            streak=record.streak,
        )
        return record, change

    def _reward(
        self, uow: UnitOfWork, counted: _Counted, challenge: Challenge, record: ProgressRecord
    ) -> ProgressRecord:
        """Reward reaching the target: points (once per period, by key) and the badge."""
        journal_id = lot_id = None
        if challenge.points:
            key = f"challenge:{challenge.id}:{counted.member_id}:{record.period}:{record.rewards}"
            bonus = give_bonus(
                uow,
                self.program,
                member_id=counted.member_id,
                key=key,
                points=challenge.points,
                source=Purpose.ISSUED_ACTION,
                reason=challenge.name,
                hold_days=0,
                now=counted.at,
            )
            journal_id, lot_id = bonus.journal_id, bonus.lot_id
        if challenge.badge is not None:
            uow.challenges.add_badge(
                counted.member_id, challenge.badge.id, challenge.id, record.period, counted.at
            )
        return replace(
            record,
            completed_at=counted.at,
            reward_journal_id=journal_id,
            reward_lot_id=lot_id,
            reward_points=challenge.points,
            rewards=record.rewards + 1,
        )

    def _take_back(
        self, uow: UnitOfWork, counted: _Counted, challenge: Challenge, record: ProgressRecord
    ) -> ProgressRecord:
        """A refund undid the completion in the open period: take the reward back."""
        if record.reward_journal_id is not None and record.reward_points:
            assert record.completed_at is not None  # a standing reward has a completion
            take_back_bonus(
                uow,
                self.program,
                member_id=counted.member_id,
                bonus_journal_id=record.reward_journal_id,
                lot_id=record.reward_lot_id,
                points=record.reward_points,
                source=Purpose.ISSUED_ACTION,
                reason=challenge.name,
                awarded_at=record.completed_at,
                now=counted.at,
            )
        if challenge.badge is not None:
            uow.challenges.remove_badge(counted.member_id, challenge.id, record.period)
        return replace(record, completed_at=None, reward_journal_id=None, reward_lot_id=None)

    def notify(self, event: ChallengesProgressed, uow: UnitOfWork) -> None:
        """The member hears about a challenge done (or undone) by something staff recorded;
        what they did themselves (a check-in) their own reply already says."""
        for change in event.changes:
            challenge = self.program.challenge(change.challenge_id)
            if challenge is None or not (change.completed or change.undone):
                continue
            if change.completed and event.by_member:
                continue
            message = completion_message(event.member_id, challenge, change, event.source)
            uow.outbox.add(message, event.occurred_at)


def completion_message(
    member_id: int, challenge: Challenge, change: ProgressChange, source: str
) -> OutboxMessage:
    """The outbox message for a challenge done or undone (once per triggering event)."""
    badge = challenge.badge
    if change.undone:
        key = "notify.challenge_undone"
    elif change.points and badge is not None:
        key = "notify.challenge_done_both"
    elif badge is not None:
        key = "notify.challenge_done_badge"
    else:
        key = "notify.challenge_done_points"
    params: dict[str, object] = {
        "challenge": challenge.name,
        "icon": challenge.icon,
        "points": change.points,
        "badge": badge.name if badge is not None else "",
    }
    what = "undone" if change.undone else "done"
    return OutboxMessage(
        recipient=Recipient.member(member_id),
        key=key,
        params=params,
        dedupe_key=f"challenge_{what}:{member_id}:{change.challenge_id}:{source}",
        buttons=((MessageButton(label="button.challenges", command="/challenges"),),),
    )


def new_record(
    program: Program, challenge: Challenge, window: Window, zone: tzinfo
) -> ProgressRecord:
    """A challenge's record before anything counted in the window."""
    return ProgressRecord(
        challenge_id=challenge.id,
        period=window.period,
        value=0,
        target=target_of(challenge, program.program.currency_decimals),
        window_end=window.ends_at(zone),
        last_day=window.last_day,
    )


def _facts(
    uow: UnitOfWork, member_id: int, taking_part: list[tuple[Challenge, Window]]
) -> tuple[list[Fact], list[ItemFact]]:
    """The member's facts (and item lines, when a challenge counts them) over every window."""
    first = min(w.first_day for _, w in taking_part)
    last = max(w.last_day for _, w in taking_part)
    facts = uow.challenges.facts(member_id, first, last)
    needs_items = any(
        c.kind in ITEM_KINDS or (c.kind is ChallengeKind.SPEND and c.categories)
        for c, _ in taking_part
    )
    items = uow.challenges.items(member_id, first, last) if needs_items else []
    return facts, items


def _joined_day(state: ChallengeState, challenge: Challenge, zone: tzinfo) -> date | None:
    """For an opt-in challenge, the local day the member joined: earlier facts do not count."""
    joined = state.joined.get(challenge.id) if challenge.opt_in else None
    return local_day(joined, zone) if joined is not None else None


def _with_streak(
    record: ProgressRecord, challenge: Challenge, window: Window, facts: list[Fact], zone: tzinfo
) -> ProgressRecord:
    """A streak challenge's record with its latest run and when that ends unless the member
    visits (the end of the last local day a visit keeps it going)."""
    if challenge.kind is not ChallengeKind.STREAK:
        return record
    run = current_streak(challenge, window, facts)
    if run is None:
        return replace(record, streak=0, streak_last_day=None, streak_ends_at=None)
    ends_on = run.ends_on(challenge.grace_days)
    return replace(
        record,
        streak=run.length,
        streak_last_day=run.last_day,
        streak_ends_at=local_midnight(ends_on + timedelta(days=1), zone),
    )


def find_challenge(program: Program, text: str) -> Challenge:
    """A challenge by id or name, forgiving case; UnknownChallenge otherwise."""
    wanted = text.strip().strip("\"'“”").lower()
    for challenge in program.challenges:
        if wanted in (challenge.id, challenge.name.lower()):
            return challenge
    matches = [c for c in program.challenges if wanted and wanted in c.name.lower()]
    if len(matches) == 1:
        return matches[0]
    raise errors.UnknownChallenge(text=text, known=[c.id for c in program.challenges])
