"""Broadcasts: a message staff send to a segment, through the outbox at each platform's pace.

A draft records the segment, text and holdout share; starting it (now, or when its scheduled
time comes) draws the audience and the holdout and queues one outbox row per member who is not
held back, in one transaction, so a crash before the commit leaves the draft as it was and one
after leaves every row queued (the dispatcher's lease offers a row claimed by a dead worker
again). Opted-out members get a row settled as skipped at once; unreachable ones are settled
by the dispatcher. When nothing is left queued the author gets the delivery report, and 7 and
30 days after the start the lift (`core.lift`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from core import categories
from core.errors import DomainError
from core.lift import Lift, LiftStore, broadcast_lift
from core.outbox import MessageButton, OutboxMessage, Recipient
from core.ports import Database
from core.program import Program
from core.segments import Segment, parse_segment

DEFAULT_HOLDOUT = 10
LIFT_DAYS = (7, 30)
MESSAGE_KEY = "broadcast.message"
# A broadcast ends with one next step for its readers.
BUTTONS = ((MessageButton(label="nudge.button.rewards", command="/rewards"),),)
# The longest text each platform shows in one message (Telegram's 4096 characters; a Slack
# section block's 3000), less room for the message's own frame.
PLATFORM_LIMITS = {"telegram": 4096, "slack": 3000, "console": 100_000}
FRAME = 16


class Body(str):
    """Text staff wrote for members: shown whole (other echoed text is cut short)."""


class EmptyText(DomainError):
    code = "broadcast_empty"


class TooLong(DomainError):
    code = "broadcast_too_long"


class ScheduleInPast(DomainError):
    code = "broadcast_in_past"


class BadHoldout(DomainError):
    code = "broadcast_bad_holdout"


class NoSuchBroadcast(DomainError):
    code = "broadcast_not_found"


class NotDraft(DomainError):
    code = "broadcast_not_draft"


@dataclass(frozen=True, kw_only=True)
class BroadcastInfo:
    """A broadcast as stored."""

    id: int
    author_id: int | None
    segment: str
    body: str
    holdout_percent: int
    status: str  # draft, scheduled, sending, done, cancelled
    audience: int | None
    holdout: int | None
    created_at: datetime
    scheduled_at: datetime | None
    started_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class Report:
    """How a broadcast went: every member of its audience is in exactly one count."""

    broadcast_id: int
    audience: int
    holdout: int
    sent: int = 0
    skipped: int = 0  # opted out, or cancelled before their turn
    blocked: int = 0
    failed: int = 0
    waiting: int = 0  # still queued (or deferred to the end of quiet hours)

    @property
    def settled(self) -> bool:
        """True when nothing is left to send."""
        return self.waiting == 0


class BroadcastStore(LiftStore, Protocol):
    """Broadcast rows, audiences and their outbox rows (`storage.broadcast_store`)."""

    def audience_size(self, segment: Segment, now: datetime) -> int: ...
    def create(
        self, *, author_id: int | None, segment: str, body: str, holdout_percent: int,
        now: datetime,
    ) -> int: ...  # fmt: skip
    def get(self, broadcast_id: int) -> BroadcastInfo | None: ...
    def schedule(self, broadcast_id: int, at: datetime) -> bool: ...
    def start(
        self,
        broadcast_id: int,
        segment: Segment,
        holdout_percent: int,
        message: OutboxMessage,
        now: datetime,
    ) -> tuple[int, int] | None:
        """Draw the audience and holdout and queue the rows, once; (audience, holdout)."""
        ...  # fmt: skip

    def due(self, now: datetime) -> list[int]: ...
    def cancel(self, broadcast_id: int, now: datetime) -> bool: ...
    def unreported(self) -> list[int]: ...
    def report(self, broadcast_id: int) -> Report: ...
    def finish(self, broadcast_id: int, report: Report, now: datetime) -> bool: ...
    def lift_due(self, now: datetime, days: int) -> list[int]: ...
    def mark_lift(self, broadcast_id: int, days: int, now: datetime) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class Draft:
    """What the author sees before sending: the audience, the holdout, the member's message."""

    broadcast: BroadcastInfo
    audience: int
    holdout: int
    message: OutboxMessage


def holdout_size(audience: int, percent: int) -> int:
    """Exactly this share of the audience, rounded half up."""
    share = Decimal(audience) * Decimal(percent) / Decimal(100)
    return int(share.to_integral_value(rounding=ROUND_HALF_UP))


def member_message(broadcast_id: int, body: str) -> OutboxMessage:
    """The message every member of the audience gets (its dedupe key is per member in SQL)."""
    return OutboxMessage(
        recipient=Recipient.member(0),
        key=MESSAGE_KEY,
        params={"text": {"$body": body}},
        dedupe_key=f"broadcast:{broadcast_id}:",
        category=categories.BROADCAST,
        buttons=BUTTONS,
    )


class Broadcasts:
    """Compose, start, schedule, cancel and report broadcasts; every step given `now`."""

    def __init__(self, store: BroadcastStore, database: Database, program: Program) -> None:
        self.store = store
        self._database = database
        self._program = program

    def compose(
        self,
        *,
        author_id: int | None,
        segment_text: str,
        body: str,
        now: datetime,
        holdout_percent: int = DEFAULT_HOLDOUT,
    ) -> Draft:
        """Check everything and record a draft; nothing is queued until it is sent."""
        segment, canonical = parse_segment(segment_text, self._program)
        text = body.strip()
        if not text:
            raise EmptyText()
        if not 0 <= holdout_percent <= 50:
            raise BadHoldout(percent=holdout_percent)
        limit = min(PLATFORM_LIMITS[p] for p in segment.platforms) - FRAME
        if len(text) > limit:
            raise TooLong(length=len(text), limit=limit)
        audience = self.store.audience_size(segment, now)
        broadcast_id = self.store.create(
            author_id=author_id,
            segment=canonical,
            body=text,
            holdout_percent=holdout_percent,
            now=now,
        )
        info = self._get(broadcast_id)
        return Draft(
            broadcast=info,
            audience=audience,
            holdout=holdout_size(audience, holdout_percent),
            message=member_message(broadcast_id, text),
        )

    def send_now(self, broadcast_id: int, now: datetime) -> tuple[int, int]:
        """Start a draft (or a scheduled one) now; (audience, holdout)."""
        info = self._get(broadcast_id)
        if info.status not in ("draft", "scheduled"):
            raise NotDraft(id=broadcast_id, status=info.status)
        started = self._start(info, now)
        if started is None:
            raise NotDraft(id=broadcast_id, status="sending")
        return started

    def schedule(self, broadcast_id: int, at: datetime, now: datetime) -> BroadcastInfo:
        """Start the draft at `at` (refused when it has passed)."""
        if at <= now:
            raise ScheduleInPast(at=at)
        info = self._get(broadcast_id)
        if info.status not in ("draft", "scheduled") or not self.store.schedule(broadcast_id, at):
            raise NotDraft(id=broadcast_id, status=info.status)
        return self._get(broadcast_id)

    def cancel(self, broadcast_id: int, now: datetime) -> BroadcastInfo:
        """Stop it: a draft never goes, a running one skips everyone still waiting."""
        info = self._get(broadcast_id)
        if info.status in ("done", "cancelled") or not self.store.cancel(broadcast_id, now):
            raise NotDraft(id=broadcast_id, status=info.status)
        return self._get(broadcast_id)

    def report(self, broadcast_id: int) -> Report:
        """Where every member of its audience stands now."""
        self._get(broadcast_id)
        return self.store.report(broadcast_id)

    def start_due(self, now: datetime) -> int:
        """Start every scheduled broadcast whose time has come (the scheduler's job)."""
        started = 0
        for broadcast_id in self.store.due(now):
            info = self.store.get(broadcast_id)
            if info is not None and self._start(info, now) is not None:
                started += 1
        return started

    def finish_done(self, now: datetime) -> int:
        """Report every started broadcast with nothing left to send to its author, once."""
        finished = 0
        for broadcast_id in self.store.unreported():
            report = self.store.report(broadcast_id)
            if not report.settled:
                continue
            if self.store.finish(broadcast_id, report, now):
                finished += 1
                self._tell_author(broadcast_id, "broadcast.report", _report_params(report), now)
        return finished

    def report_lift(self, now: datetime) -> int:
        """Send the 7- and 30-day lift of finished broadcasts to their authors, once each."""
        told = 0
        for days in LIFT_DAYS:
            for broadcast_id in self.store.lift_due(now, days):
                lift = broadcast_lift(self.store, broadcast_id, days)
                if lift is not None and self.store.mark_lift(broadcast_id, days, now):
                    told += 1
                    params = lift_params(lift, self._program)
                    self._tell_author(broadcast_id, lift_key(lift), params, now, f"lift{days}")
        return told

    def _start(self, info: BroadcastInfo, now: datetime) -> tuple[int, int] | None:
        segment, _ = parse_segment(info.segment, self._program)
        message = member_message(info.id, info.body)
        return self.store.start(info.id, segment, info.holdout_percent, message, now)

    def _tell_author(
        self, broadcast_id: int, key: str, params: dict[str, object], now: datetime,
        suffix: str = "report",
    ) -> None:  # fmt: skip
        info = self._get(broadcast_id)
        if info.author_id is None:
            return  # an operator's broadcast from the shell: `loyalty broadcast report`
        message = OutboxMessage(
            recipient=Recipient.member(info.author_id),
            key=key,
            params=params,
            dedupe_key=f"broadcast:{broadcast_id}:{suffix}",
        )
        self._database.run(lambda uow: uow.outbox.add(message, now))

    def _get(self, broadcast_id: int) -> BroadcastInfo:
        info = self.store.get(broadcast_id)
        if info is None:
            raise NoSuchBroadcast(id=broadcast_id)
        return info


def _report_params(report: Report) -> dict[str, object]:
    return {
        "id": report.broadcast_id,
        "audience": report.audience,
        "sent": report.sent,
        "skipped": report.skipped,
        "blocked": report.blocked,
        "failed": report.failed,
        "holdout": report.holdout,
    }


def report_json(report: Report) -> str:
    """The report as stored with the broadcast."""
    return json.dumps(_report_params(report), separators=(",", ":"))


def lift_key(lift: Lift) -> str:
    """The catalog key of a lift report: numbers, or that there are too few members."""
    if not lift.enough:
        return "broadcast.lift_not_enough"
    return (
        "broadcast.lift_clear" if any(m.clear for m in lift.metrics) else "broadcast.lift_unclear"
    )


def lift_params(lift: Lift, program: Program) -> dict[str, object]:
    """The lift as message parameters (numbers already shown to two decimals)."""
    params: dict[str, object] = {
        "days": lift.days,
        "audience": lift.audience,
        "holdout": lift.holdout,
    }
    scale = Decimal(1).scaleb(-program.program.currency_decimals)
    for metric in lift.metrics:
        factor = float(scale) if metric.metric == "spend" else 1.0
        params[f"{metric.metric}_audience"] = _number(metric.audience * factor)
        params[f"{metric.metric}_holdout"] = _number(metric.holdout * factor)
        params[f"{metric.metric}_difference"] = _number(metric.difference * factor, signed=True)
        params[f"{metric.metric}_low"] = _number(metric.low * factor, signed=True)
        params[f"{metric.metric}_high"] = _number(metric.high * factor, signed=True)
    params["currency"] = program.program.currency
    return params


def _number(value: float, signed: bool = False) -> str:
    return f"{value:+.2f}" if signed else f"{value:.2f}"


class BadTime(DomainError):
    code = "broadcast_bad_time"


_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})")
_DAY_WORDS = {"today": 0, "bugün": 0, "tomorrow": 1, "yarın": 1}


def parse_when(text: str, zone: tzinfo, now: datetime) -> datetime:
    """`18:30` (today), `tomorrow 09:00` or `2026-12-01 09:00` in `zone`, as UTC; BadTime
    when unreadable (whether it has passed is the caller's check)."""
    words = text.strip().lower().split()
    day = now.astimezone(zone).date()
    if len(words) == 2 and words[0] in _DAY_WORDS:
        day += timedelta(days=_DAY_WORDS[words[0]])
        words = words[1:]
    elif len(words) == 2:
        try:
            day = date.fromisoformat(words[0])
        except ValueError:
            raise BadTime(text=text) from None
        words = words[1:]
    found = _CLOCK.fullmatch(words[0]) if len(words) == 1 else None
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        raise BadTime(text=text)
    local = datetime.combine(day, time(int(found[1]), int(found[2])), tzinfo=zone)
    return local.astimezone(UTC)
