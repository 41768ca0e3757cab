"""The tier coach: each member's tier stored by its stable id, and what keeps it.

Reaching a higher tier's threshold (spend or purchase points over the rolling window) upgrades
at once and opens a tier window of `window_days`; the tier is kept until that window ends.
Then the daily review looks at what counted inside the window: enough keeps the tier for
another window, too little drops it one tier (or straight to the tier reached, as the program
says). A refund of the purchase that made an upgrade, which no longer qualifies without it,
goes back to the tier held before. Every change is an event, and the member hears about it
through the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial

from core.bus import MessageBus
from core.events import MemberEnrolled, PurchaseRecorded, PurchaseRefunded, TierChanged
from core.gamification_model import TierStatus
from core.outbox import MessageButton, OutboxMessage, Recipient
from core.ports import Database, UnitOfWork
from core.program import Program
from core.results import SweepResult

log = logging.getLogger(__name__)


def qualifying_since(uow: UnitOfWork, program: Program, member_id: int, since: datetime) -> Decimal:
    """Spend (currency units) or purchase points that count from `since` on."""
    spend_minor, points = uow.purchases.qualifying(member_id, since)
    if program.tier_qualification.measure == "spend":
        return program.from_minor(spend_minor)
    return Decimal(points)


def stored_tier(program: Program, status: TierStatus | None) -> int | None:
    """The index of a stored tier, or None (nothing stored, or a tier the file dropped)."""
    return program.tier_index(status.tier_id) if status is not None else None


def tier_window(program: Program, start: datetime) -> tuple[datetime, datetime]:
    """(counts_from, until) of the tier window holding `start`: `window_days` local days from
    the start of that day (program time zone), to the end of the last one."""
    local = start.astimezone(program.zone).date()
    counts_from = datetime.combine(local, time(0), tzinfo=program.zone)
    return counts_from, program.end_of_day(counts_from, program.tier_qualification.window_days - 1)


def next_window(program: Program, until: datetime) -> tuple[datetime, datetime]:
    """The tier window right after the one ending at `until`."""
    return tier_window(program, until + timedelta(microseconds=1))


def window_ending(program: Program, until: datetime) -> datetime:
    """Where the tier window ending at `until` started counting."""
    days = program.tier_qualification.window_days
    return tier_window(program, until - timedelta(days=days - 1))[0]


@dataclass(frozen=True, kw_only=True)
class KeepRequirement:
    """What it takes to keep a tier: `needed` more by `until`, `counted` of `threshold` so far."""

    until: datetime
    counted: Decimal
    threshold: Decimal

    @property
    def needed(self) -> Decimal:
        """What is still missing (0: kept)."""
        return max(self.threshold - self.counted, Decimal(0))


def keep_requirement(
    uow: UnitOfWork, program: Program, member_id: int, status: TierStatus | None
) -> KeepRequirement | None:
    """What keeps a tier above the base tier, or None for the base tier."""
    index = stored_tier(program, status)
    if status is None or not index or status.until is None or status.counts_from is None:
        return None
    counted = qualifying_since(uow, program, member_id, status.counts_from)
    return KeepRequirement(
        until=status.until, counted=counted, threshold=program.tiers[index].threshold
    )


class TierCoach:
    """Keeps the stored tier in step with purchases and refunds, and reviews ended windows."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def subscribe(self, bus: MessageBus) -> None:
        """Register the handlers."""
        bus.subscribe(MemberEnrolled, self.member_enrolled)
        bus.subscribe(PurchaseRecorded, self.purchase_recorded)
        bus.subscribe(PurchaseRefunded, self.purchase_refunded)
        bus.subscribe(TierChanged, self.notify)

    def member_enrolled(self, event: MemberEnrolled, uow: UnitOfWork) -> None:
        """A new member starts in the base tier."""
        base = TierStatus(tier_id=self.program.tiers[0].id, since=event.occurred_at)
        uow.tiers.put(event.member_id, base)

    def purchase_recorded(self, event: PurchaseRecorded, uow: UnitOfWork) -> None:
        """Upgrade as soon as the rolling window reaches a higher tier."""
        now = event.occurred_at
        status = uow.tiers.get(event.member_id)
        held = stored_tier(self.program, status)
        if held == len(self.program.tiers) - 1:  # the top tier: nothing to reach
            return
        window_start = now - timedelta(days=self.program.tier_qualification.window_days)
        qualified = self.program.tier_for(
            qualifying_since(uow, self.program, event.member_id, window_start)
        )
        if held is None:  # a member from before tiers were stored: start from today's standing
            self._move(uow, event.member_id, None, qualified, now, notify=False)
        elif qualified > held:  # an import moves the tier without telling anyone
            self._move(uow, event.member_id, status, qualified, now, notify=not event.quiet)

    def purchase_refunded(self, event: PurchaseRefunded, uow: UnitOfWork) -> None:
        """A refund of the purchase behind an upgrade that no longer qualifies undoes it."""
        status = uow.tiers.get(event.member_id)
        held = stored_tier(self.program, status)
        purchase = uow.purchases.get(event.receipt)
        if status is None or not held or purchase is None or status.since < purchase.occurred_at:
            return
        window_start = event.occurred_at - timedelta(
            days=self.program.tier_qualification.window_days
        )
        qualified = self.program.tier_for(
            qualifying_since(uow, self.program, event.member_id, window_start)
        )
        if qualified >= held:
            return
        before = self.program.tier_index(status.previous_tier_id or "") or 0
        if before >= qualified and status.previous_until is not None:
            until = status.previous_until
            back = TierStatus(
                tier_id=self.program.tiers[before].id,
                since=event.occurred_at,
                until=until,
                counts_from=window_ending(self.program, until),
            )
            self._put(uow, event.member_id, status, back, event.occurred_at)
        else:
            self._move(uow, event.member_id, status, qualified, event.occurred_at)

    def review(self, uow: UnitOfWork, member_id: int, now: datetime) -> bool:
        """At the end of a tier window: keep the tier on what counted, or drop; True if moved."""
        status = uow.tiers.get(member_id)
        held = stored_tier(self.program, status)
        if status is None or status.until is None or status.until > now or held is None:
            return False
        until = status.until
        counts_from = status.counts_from or window_ending(self.program, until)
        qualified = self.program.tier_for(
            qualifying_since(uow, self.program, member_id, counts_from)
        )
        if qualified >= held:
            kept = max(qualified, held)
        elif self.program.tier_qualification.downgrade == "one_tier":
            kept = max(qualified, held - 1)
        else:
            kept = qualified
        while until <= now:  # a review that ran late catches up window by window
            counts_from, until = next_window(self.program, until)
        tier_id = self.program.tiers[kept].id
        renewed = TierStatus(
            tier_id=tier_id,
            since=status.since if kept == held else now,
            until=until if kept else None,
            counts_from=counts_from if kept else None,
        )
        self._put(uow, member_id, status, renewed, now)
        return kept != held

    def notify(self, event: TierChanged, uow: UnitOfWork) -> None:
        """The member hears about a tier change: upgrades and downgrades are transactional."""
        tier = self.program.tier_index(event.tier)
        previous = self.program.tier_index(event.previous)
        if tier is None or previous is None:
            return
        new, old = self.program.tiers[tier], self.program.tiers[previous]
        what = "up" if event.upgrade else "down"
        params: dict[str, object] = {
            "tier": new.name,
            "previous": old.name,
            "multiplier": str(new.multiplier.normalize()),
            "perks": list(new.perks),
        }
        if event.until is not None:
            params["until"] = event.until
        message = OutboxMessage(
            recipient=Recipient.member(event.member_id),
            key=f"notify.tier_{what}",
            params=params,
            dedupe_key=f"tier_{what}:{event.member_id}:{event.tier}:{event.occurred_at.isoformat()}",
            buttons=((MessageButton(label="button.balance", command="/balance"),),),
        )
        uow.outbox.add(message, event.occurred_at)

    def _move(
        self,
        uow: UnitOfWork,
        member_id: int,
        status: TierStatus | None,
        index: int,
        now: datetime,
        *,
        notify: bool = True,
    ) -> None:
        """Hold tier `index` from now, for a new window (the base tier: for good)."""
        counts_from, until = tier_window(self.program, now) if index else (None, None)
        upgrade = status is None or index > (stored_tier(self.program, status) or 0)
        moved = TierStatus(
            tier_id=self.program.tiers[index].id,
            since=now,
            until=until,
            counts_from=counts_from,
            previous_tier_id=status.tier_id if status is not None and upgrade else None,
            previous_until=status.until if status is not None and upgrade else None,
        )
        self._put(uow, member_id, status if notify else None, moved, now)

    def _put(
        self,
        uow: UnitOfWork,
        member_id: int,
        old: TierStatus | None,
        new: TierStatus,
        now: datetime,
    ) -> None:
        uow.tiers.put(member_id, new)
        if old is None or old.tier_id == new.tier_id:
            return
        was = self.program.tier_index(old.tier_id) or 0
        now_index = self.program.tier_index(new.tier_id) or 0
        uow.domain_events.record(
            TierChanged(
                occurred_at=now,
                member_id=member_id,
                previous=old.tier_id,
                tier=new.tier_id,
                upgrade=now_index > was,
                until=new.until,
            )
        )


def review_due(db: Database, coach: TierCoach, now: datetime, limit: int) -> SweepResult:
    """Review up to `limit` members whose tier window has ended, one transaction each."""
    due = db.run(lambda uow: uow.tiers.due(now, limit), write=False)
    moved = 0
    for member_id in due:
        try:
            moved += db.run(partial(coach.review, member_id=member_id, now=now))
        except Exception:  # one member's problem must not hold everyone else's review back
            log.exception("tier review of member %s failed; retried on the next run", member_id)
    return SweepResult(lots=moved, points=0, candidates=len(due))
