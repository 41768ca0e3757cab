"""Challenges: the subscriber that counts purchases, check-ins and actions towards them, and
the read model behind /challenges.

Every counted event becomes a fact kept by its key (so the same event twice is one fact), then
the progress of each challenge it touches is computed afresh from the facts of its window
(`core.progress`) and written with one upsert for all of them. Reaching a target rewards once
per member, challenge and period (a ledger key); a refund that takes progress back below the
target in the open period takes the reward back through the ledger's claw-back path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache

from core import errors
from core.bonuses import give_bonus, take_back_bonus
from core.bus import MessageBus
from core.challenge_rules import (
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
    FactIndex,
    FactKind,
    FactRow,
    ItemFact,
    Streak,
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
    quiet: bool = False  # an imported purchase: nobody is told
    items: bool = True  # False: a purchase without item lines moves no item-based challenge
    new: Fact | None = None  # the one new fact, when it may simply add to stored progress


@dataclass(frozen=True, kw_only=True)
class _Opened:
    """What one read told about a member: their zone, their local day, and their stored
    progress and joins for every period the event may fall in."""

    zone: tzinfo
    day: date
    state: ChallengeState

    def counted(
        self,
        member_id: int,
        kinds: frozenset[ChallengeKind],
        source: str,
        at: datetime,
        *,
        by_member: bool = False,
        quiet: bool = False,
        items: bool = True,
        new: Fact | None = None,
    ) -> _Counted:
        """The event to count, on the local day and in the zone this read found."""
        return _Counted(
            member_id=member_id,
            day=self.day,
            zone=self.zone,
            kinds=kinds,
            source=source,
            at=at,
            by_member=by_member,
            quiet=quiet,
            items=items,
            new=new,
        )


class ChallengeTracker:
    """Counts events towards the program's challenges, inside the event's transaction."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._counted_actions = frozenset(
            action for c in program.challenges for action in c.actions
        )
        # Every challenge's window on a local day: asked for each event, the same all day.
        self._windows_on = lru_cache(maxsize=256)(self._windows)

    def _windows(
        self, day: date, kinds: frozenset[ChallengeKind], items: bool = True
    ) -> tuple[tuple[Challenge, Window], ...]:
        """The challenges counting `kinds` with a window on `day` (without item lines, those
        that only items move are left out)."""
        return tuple(
            (c, w)
            for c in self.program.challenges
            if c.counts(kinds) and (items or not c.needs_items) and (w := c.window_on(day))
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
        """A purchase is a visit, money spent and items bought, on the day it was made (a
        till's or an import's own time). An imported one whose windows have all closed is
        history: it moves no challenge and rewards nothing."""
        made = event.purchased_at or event.occurred_at
        if event.quiet and self._all_closed(made, event.occurred_at):
            return
        opened = self.open(uow, event.member_id, made, PURCHASE_KINDS)
        key = f"purchase:{event.receipt}"
        row = FactRow(
            key=key,
            ref=key,
            kind=FactKind.PURCHASE,
            day=opened.day,
            store=event.store,
            amount_minor=event.amount_minor,
        )
        lines = [
            ItemFact(
                ref=key,
                line=n,
                day=opened.day,
                sku=item.sku,
                category=item.category,
                amount_minor=item.amount_minor,
            )
            for n, item in enumerate(event.items)
        ]
        # Without item lines a purchase moves no products or categories challenge.
        counted = opened.counted(
            event.member_id, PURCHASE_KINDS, key, event.occurred_at,
            quiet=event.quiet, items=bool(lines), new=_fact(row),
        )  # fmt: skip
        self.count(uow, opened, counted, row, lines)

    def purchase_refunded(self, event: PurchaseRefunded, uow: UnitOfWork) -> None:
        """A refund is a negative fact of its purchase: it takes back what that gave."""
        purchase = uow.challenges.fact(event.member_id, f"purchase:{event.receipt}")
        if purchase is None:  # counted before challenges existed, or not at all
            return
        key = f"refund:{event.refund_id}"
        row = replace(purchase, key=key, amount_minor=-event.amount_minor)
        opened = self.open(uow, event.member_id, event.occurred_at, PURCHASE_KINDS, purchase.day)
        counted = opened.counted(event.member_id, PURCHASE_KINDS, key, event.occurred_at)
        self.count(uow, opened, counted, row)

    def checked_in(self, event: CheckedIn, uow: UnitOfWork) -> None:
        """A check-in is a visit on the member's local day."""
        key = f"checkin:{event.store_id}:{event.day.isoformat()}"
        self._count_new(
            uow, event.member_id, event.occurred_at, VISIT_KINDS,
            lambda day: FactRow(key=key, ref=key, kind=FactKind.CHECKIN, day=day,
                                store=event.store_id),
            by_member=True,
        )  # fmt: skip

    def points_awarded(self, event: PointsAwarded, uow: UnitOfWork) -> None:
        """An awarded program action (a review, a share) counts towards actions challenges."""
        if event.action is None or event.action not in self._counted_actions:
            return
        key, action = f"action:{event.journal_id}", event.action
        self._count_new(
            uow, event.member_id, event.occurred_at, ACTION_KINDS,
            lambda day: FactRow(key=key, ref=key, kind=FactKind.ACTION, day=day, action=action),
        )  # fmt: skip

    def _count_new(
        self,
        uow: UnitOfWork,
        member_id: int,
        at: datetime,
        kinds: frozenset[ChallengeKind],
        fact_on: Callable[[date], FactRow],
        *,
        by_member: bool = False,
    ) -> None:
        """Count one new fact made on the member's local day (known only after the read)."""
        opened = self.open(uow, member_id, at, kinds)
        row = fact_on(opened.day)
        counted = opened.counted(member_id, kinds, row.key, at, by_member=by_member, new=_fact(row))
        self.count(uow, opened, counted, row)

    def joined(self, uow: UnitOfWork, member_id: int, challenge: Challenge, now: datetime) -> None:
        """Count what the member did earlier today towards a challenge they just joined."""
        kinds = frozenset({challenge.kind})
        opened = self.open(uow, member_id, now, kinds)
        counted = opened.counted(member_id, kinds, f"join:{challenge.id}", now, by_member=True)
        self.count(uow, opened, counted)

    def _all_closed(self, made: datetime, now: datetime) -> bool:
        """True when every window that can hold `made` (in any time zone) ended before `now`."""
        utc = made.astimezone(UTC).date()
        days = (utc - timedelta(days=1), utc, utc + timedelta(days=1))
        windows = [w for d in days for _, w in self._windows_on(d, PURCHASE_KINDS)]
        # A day's margin: no zone's midnight is more than a day from UTC's.
        return all(w.ends_at(UTC) + timedelta(days=1) <= now for w in windows)

    def open(
        self,
        uow: UnitOfWork,
        member_id: int,
        at: datetime,
        kinds: frozenset[ChallengeKind],
        day: date | None = None,
    ) -> _Opened:
        """The member's zone, local day and stored progress, in one read. Before the zone is
        known the local day is one of three (every zone is within a day of UTC), so the read
        takes the periods of all three; `day`, when known already (a refund's), is used."""
        if day is not None:
            days = [day]
        else:
            utc = at.astimezone(UTC).date()
            days = [utc - timedelta(days=1), utc, utc + timedelta(days=1)]
        windows = [pair for d in days for pair in self._windows_on(d, kinds)]
        periods = sorted({w.period for _, w in windows})
        joins = any(c.opt_in for c, _ in windows)
        state = uow.challenges.state(member_id, periods, joins, zones=True)
        name = state.time_zone or next((z for z in state.platform_zones if is_zone(z)), None)
        zone = zone_of(name, self.program.zone)
        return _Opened(zone=zone, day=day or local_day(at, zone), state=state)

    def count(
        self,
        uow: UnitOfWork,
        opened: _Opened,
        counted: _Counted,
        fact: FactRow | None = None,
        lines: list[ItemFact] | None = None,
    ) -> None:
        """Keep the event's fact (once: a repeated event stops here) and bring every challenge
        it touches up to date, saving what changed in one write.

        A new fact that only adds to what is stored (a purchase, a check-in or an action in
        time order) moves the stored progress on; anything else (a refund, an event from before
        the last one counted, a challenge without a row yet) is recomputed from the facts of
        its window. The property tests hold both ways to the same result. When nothing is
        recomputed and no target is reached or lost, the fact and the progress are written
        together (one statement on PostgreSQL).
        """
        state = opened.state
        taking_part = [
            (c, w)
            for c, w in self._windows_on(counted.day, counted.kinds, counted.items)
            if not c.opt_in or c.id in state.joined
        ]
        quick = None if lines else self._quick(state, counted, taking_part)
        if quick is not None:
            records = [record for record, _ in quick]
            if fact is not None and not uow.challenges.add_fact(
                counted.member_id, fact, counted.at, records
            ):
                return  # the same event again: counted already
            if fact is None and records:
                uow.challenges.save_progress(counted.member_id, records, counted.at)
            self._record(uow, counted, [change for _, change in quick])
            return
        if fact is not None and not uow.challenges.add_fact(counted.member_id, fact, counted.at):
            return
        if lines:
            uow.challenges.add_items(counted.member_id, lines)
        self._recount(uow, counted, state, taking_part)

    def _quick(
        self, state: ChallengeState, counted: _Counted, taking_part: list[tuple[Challenge, Window]]
    ) -> list[tuple[ProgressRecord, ProgressChange]] | None:
        """Every change when each challenge simply adds the new fact and none reaches or loses
        its target (no reward to give or take); None otherwise."""
        changes = []
        for challenge, window in taking_part:
            moved = self._move(state, counted, challenge, window)
            if moved is None:
                return None
            change = self._change(counted, challenge, window, state, moved)
            if change is not None:
                if change[1].completed or change[1].undone:
                    return None
                changes.append(change)
        return changes

    def _recount(
        self,
        uow: UnitOfWork,
        counted: _Counted,
        state: ChallengeState,
        taking_part: list[tuple[Challenge, Window]],
    ) -> None:
        """Recompute what has to be from the window's facts, reward and take back, save."""
        facts = _FactsOfWindows(uow, counted.member_id, taking_part)
        records: list[ProgressRecord] = []
        changes: list[ProgressChange] = []
        for challenge, window in taking_part:
            moved = self._move(state, counted, challenge, window)
            if moved is None:
                index = facts.index(_joined_day(state, challenge, counted.zone))
                moved = index.value(challenge, window), _latest_run(challenge, window, index)
            change = self._change(counted, challenge, window, state, moved)
            if change is None:
                continue
            record, progress = change
            if progress.completed:
                record = self._reward(uow, counted, challenge, record)
                progress = replace(progress, points=record.reward_points)
            elif progress.undone:
                record = self._take_back(uow, counted, challenge, record)
            records.append(record)
            changes.append(progress)
        if records:
            uow.challenges.save_progress(counted.member_id, records, counted.at)
        self._record(uow, counted, changes)

    def _record(self, uow: UnitOfWork, counted: _Counted, changes: list[ProgressChange]) -> None:
        if changes:
            uow.domain_events.record(
                ChallengesProgressed(
                    occurred_at=counted.at,
                    member_id=counted.member_id,
                    source=counted.source,
                    changes=tuple(changes),
                    by_member=counted.by_member,
                    quiet=counted.quiet,
                )
            )

    def _move(
        self, state: ChallengeState, counted: _Counted, challenge: Challenge, window: Window
    ) -> tuple[int, Streak | None] | None:
        """The progress the new fact simply adds to, or None when it must be recomputed."""
        since = _joined_day(state, challenge, counted.zone)
        previous = state.progress.get((challenge.id, window.period))
        return _advance(challenge, previous, counted.new, since)

    def _change(
        self,
        counted: _Counted,
        challenge: Challenge,
        window: Window,
        state: ChallengeState,
        moved: tuple[int, Streak | None],
    ) -> tuple[ProgressRecord, ProgressChange] | None:
        """The challenge's new record and what changed (rewards not given yet); None when
        nothing did."""
        previous = state.progress.get((challenge.id, window.period))
        value, run = moved
        if previous is None and not value:
            return None  # not begun: no row
        base = previous or new_record(self.program, challenge, window, counted.zone)
        completing = value >= base.target and base.completed_at is None
        undoing = (
            value < base.target and base.completed_at is not None and counted.at < base.window_end
        )
        if (
            previous is not None
            and previous.value == value
            and not completing
            and not undoing
            and _same_run(previous, run)
        ):
            return None  # the common case: this event did not move this challenge
        record = _with_run(replace(base, value=value), challenge, run, counted.zone)
        change = ProgressChange(
            challenge_id=challenge.id,
            period=window.period,
            before=previous.value if previous else 0,
            value=value,
            target=base.target,
            last_day=window.last_day,
            completed=completing,
            undone=undoing,
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
        what they did themselves (a check-in) their own reply already says; an import tells
        nobody."""
        if event.quiet:
            return
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


class _FactsOfWindows:
    """The member's facts over every window an event touches, read once and only if some
    challenge has to be recomputed; an index per join day (automatic challenges: None)."""

    def __init__(
        self, uow: UnitOfWork, member_id: int, taking_part: list[tuple[Challenge, Window]]
    ) -> None:
        self._uow = uow
        self._member_id = member_id
        self._taking_part = taking_part
        self._read: tuple[list[Fact], list[ItemFact]] | None = None
        self._indexes: dict[date | None, FactIndex] = {}

    def index(self, since: date | None) -> FactIndex:
        """The facts from the local day `since` on (all of them for None), indexed."""
        found = self._indexes.get(since)
        if found is None:
            facts, items = self._facts()
            kept = facts if since is None else [f for f in facts if f.day >= since]
            found = self._indexes[since] = FactIndex(kept, items)
        return found

    def _facts(self) -> tuple[list[Fact], list[ItemFact]]:
        if self._read is None:
            windows = [w for _, w in self._taking_part]
            first = min(w.first_day for w in windows)
            last = max(w.last_day for w in windows)
            facts = self._uow.challenges.facts(self._member_id, first, last)
            needs_items = any(c.needs_items for c, _ in self._taking_part)
            items = self._uow.challenges.items(self._member_id, first, last) if needs_items else []
            self._read = facts, items
        return self._read


def _joined_day(state: ChallengeState, challenge: Challenge, zone: tzinfo) -> date | None:
    """For an opt-in challenge, the local day the member joined: earlier facts do not count."""
    joined = state.joined.get(challenge.id) if challenge.opt_in else None
    return local_day(joined, zone) if joined is not None else None


def _fact(row: FactRow) -> Fact:
    """A new fact on its own (no refunds yet)."""
    return Fact(
        ref=row.ref,
        kind=row.kind,
        day=row.day,
        store=row.store,
        action=row.action,
        net_minor=row.amount_minor,
        gross_minor=max(row.amount_minor, 0),
    )


def _advance(
    challenge: Challenge, record: ProgressRecord | None, new: Fact | None, since: date | None
) -> tuple[int, Streak | None] | None:
    """The progress after adding one new fact to what `record` holds, or None when that needs
    the window's facts (no record yet, a fact from before the last counted day, item lines)."""
    if record is None or new is None or challenge.needs_items:
        return None
    run = _run_of(challenge, record)
    if since is not None and new.day < since:  # from before the member joined: not counted
        return record.value, run
    kind = challenge.kind
    if kind is ChallengeKind.SPEND:
        return record.value + (max(new.net_minor, 0) if new.kind is FactKind.PURCHASE else 0), None
    if kind is ChallengeKind.ACTIONS:
        counts = new.kind is FactKind.ACTION and new.action in challenge.actions
        return record.value + counts, None
    if not new.visit or (challenge.stores and new.store not in challenge.stores):
        return record.value, run
    last = record.streak_last_day
    if last is None or new.day < last:
        return None
    if new.day == last:  # the day's visit was counted already
        return record.value, run
    if kind is ChallengeKind.VISITS:
        return record.value + 1, Streak(length=0, last_day=new.day)
    gap = (new.day - last).days - 1
    length = record.streak + 1 if gap <= challenge.grace_days else 1
    return max(record.value, length), Streak(length=length, last_day=new.day)


def _run_of(challenge: Challenge, record: ProgressRecord) -> Streak | None:
    """The run a record shows (for visits: only the last visit day)."""
    if challenge.kind not in VISIT_KINDS or record.streak_last_day is None:
        return None
    return Streak(length=record.streak, last_day=record.streak_last_day)


def _latest_run(challenge: Challenge, window: Window, index: FactIndex) -> Streak | None:
    """From the facts: a streak's latest run; a visits challenge's last visit day."""
    if challenge.kind is ChallengeKind.STREAK:
        return index.streak(challenge, window)
    if challenge.kind is ChallengeKind.VISITS:
        days = index.visit_days(challenge, window)
        return Streak(length=0, last_day=max(days)) if days else None
    return None


def _same_run(record: ProgressRecord, run: Streak | None) -> bool:
    """True when a stored record already shows this run (or no run at all)."""
    if run is None:
        return record.streak_last_day is None
    return record.streak == run.length and record.streak_last_day == run.last_day


def _with_run(
    record: ProgressRecord, challenge: Challenge, run: Streak | None, zone: tzinfo
) -> ProgressRecord:
    """A record with its latest run: a streak's length, last visit and when it ends unless the
    member visits (the end of the last local day a visit keeps it going); a visits
    challenge's last visit day (what lets the next visit simply add to it)."""
    if challenge.kind not in VISIT_KINDS:
        return record
    if run is None:
        return replace(record, streak=0, streak_last_day=None, streak_ends_at=None)
    if challenge.kind is ChallengeKind.VISITS:
        return replace(record, streak=0, streak_last_day=run.last_day, streak_ends_at=None)
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
