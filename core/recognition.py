"""Recognition: employees give colleagues points from a monthly allowance.

The allowance is a counter per (giver, month in the giver's own time zone), spent with one
conditional update; the receiver's points arrive as a new lot issued from recognition.
A gift is one journal; revoking it (a removed reaction) is one reversal journal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time, tzinfo

from core import errors
from core.clawback import apply_claw_back, plan_claw_back
from core.events import GiftGiven, GiftRevoked
from core.ledger import issue_points, locked_balances, replayed, request_hash
from core.model import Gift, JournalKind, NewJournal, Purpose
from core.ports import RecognitionUnitOfWork
from core.program import Program, Recognition
from core.text import check_reason
from core.zones import zone_of

HASHTAG = re.compile(r"#([a-z0-9][a-z0-9_-]{0,31})", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class GiveKudos:
    """`giver` gives `points` (None: the program's default) to `receiver`, once per key."""

    key: str
    giver_id: int
    receiver_id: int
    points: int | None
    reason: str
    giver_zone: str | None = None
    receiver_is_bot: bool = False
    channel: str | None = None  # where it was given (see `Gift.channel`)
    channel_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class GiftResult:
    gift: Gift
    allowance_left: int
    resets_at: datetime
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class RevokeResult:
    gift: Gift
    clawed_back: int
    shortfall: int
    duplicate: bool = False


@dataclass(frozen=True)
class Allowance:
    """What a person may still give this month, and when it resets."""

    monthly: int
    spent: int
    resets_at: datetime

    @property
    def left(self) -> int:
        return max(self.monthly - self.spent, 0)


def settings(program: Program) -> Recognition:
    """The program's recognition section; RecognitionOff when it has none."""
    if program.recognition is None:
        raise errors.RecognitionOff()
    return program.recognition


def month_period(now: datetime, zone: tzinfo) -> tuple[str, datetime]:
    """The allowance period key ("2026-11") at `now` in `zone`, and when the next starts."""
    local = now.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    resets = datetime.combine(local.date().replace(year=year, month=month, day=1), time(0), zone)
    return f"{local.year:04d}-{local.month:02d}", resets


def values_in(text: str, recognition: Recognition) -> tuple[str, ...]:
    """The company values tagged in a reason, in order, each once."""
    known = set(recognition.values)
    found = [tag.lower() for tag in HASHTAG.findall(text)]
    return tuple(dict.fromkeys(tag for tag in found if tag in known))


def allowance(
    uow: RecognitionUnitOfWork, program: Program, member_id: int, zone: str | None, now: datetime
) -> Allowance:
    """A person's allowance this month in their own time zone."""
    period, resets = month_period(now, zone_of(zone, program.zone))
    spent = uow.recognition.allowance_spent(member_id, period)
    return Allowance(settings(program).monthly_allowance, spent, resets)


def give(
    uow: RecognitionUnitOfWork, program: Program, command: GiveKudos, now: datetime
) -> GiftResult:
    """Give points to a colleague, exactly once per key; refusals say why and what is left."""
    rules = settings(program)
    command = replace(command, reason=check_reason(command.reason))
    points = rules.default_points if command.points is None else command.points
    values = _check_gift(rules, command, points)
    zone = zone_of(command.giver_zone, program.zone)
    period, resets = month_period(now, zone)
    fingerprint = request_hash(g=command.giver_id, r=command.receiver_id, p=points)
    if replayed(uow, command.key, fingerprint) is not None:
        return _replay(uow, rules, command.key, period, resets)
    # The journal goes first: a concurrent retry waits on its unique key and replays.
    meta: dict[str, object] = {
        "ref": command.reason,
        "values": list(values),
        "to": command.receiver_id,
    }
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.RECOGNIZE,
            key=command.key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=command.giver_id,
            actor_id=command.giver_id,
            meta=meta,
        )
    )
    monthly = rules.monthly_allowance
    if not uow.recognition.spend_allowance(command.giver_id, period, points, monthly):
        left = monthly - uow.recognition.allowance_spent(command.giver_id, period)
        raise errors.AllowanceExceeded(points=points, left=max(left, 0), resets=resets)
    # The allowance update holds the giver's row lock, so the pair cap cannot be raced.
    day = now.astimezone(zone).date().isoformat()
    given = uow.recognition.pair_given(command.giver_id, command.receiver_id, day)
    if given + points > rules.daily_pair_cap:
        raise errors.PairCapReached(
            points=points, left=max(rules.daily_pair_cap - given, 0), cap=rules.daily_pair_cap
        )
    _, lot_id = issue_points(
        uow, program, journal_id, command.receiver_id, Purpose.ISSUED_RECOGNITION, points, now, 0
    )
    gift = Gift(
        key=command.key,
        journal_id=journal_id,
        giver_id=command.giver_id,
        receiver_id=command.receiver_id,
        points=points,
        values=values,
        reason=command.reason,
        period=period,
        day=day,
        lot_id=lot_id,
        given_at=now,
        channel=command.channel,
        channel_name=command.channel_name,
    )
    uow.recognition.add_gift(gift)
    uow.domain_events.record(
        GiftGiven(
            occurred_at=now,
            key=gift.key,
            journal_id=journal_id,
            giver_id=gift.giver_id,
            receiver_id=gift.receiver_id,
            points=points,
            values=values,
            reason=command.reason,
        )
    )
    spent = uow.recognition.allowance_spent(command.giver_id, period)
    return GiftResult(gift=gift, allowance_left=rules.monthly_allowance - spent, resets_at=resets)


def _check_gift(rules: Recognition, command: GiveKudos, points: int) -> tuple[str, ...]:
    if command.receiver_is_bot:
        raise errors.BotGift()
    if command.giver_id == command.receiver_id:
        raise errors.SelfGift()
    if not 0 < points <= rules.max_per_gift:
        raise errors.GiftTooLarge(points=points, maximum=rules.max_per_gift)
    values = values_in(command.reason, rules)
    if rules.require_value and not values:
        raise errors.ValueRequired(values=["#" + value for value in rules.values])
    return values


def _replay(
    uow: RecognitionUnitOfWork, rules: Recognition, key: str, period: str, resets: datetime
) -> GiftResult:
    gift = uow.recognition.gift(key)
    if gift is None:  # the journal exists, so the gift row does too
        raise errors.IdempotencyConflict(key=key)
    spent = uow.recognition.allowance_spent(gift.giver_id, period)
    left = max(rules.monthly_allowance - spent, 0)
    return GiftResult(gift=gift, allowance_left=left, resets_at=resets, duplicate=True)


def revoke(
    uow: RecognitionUnitOfWork, program: Program, key: str, actor_id: int | None, now: datetime
) -> RevokeResult | None:
    """Take back the gift recorded under `key` (once); None when there is no such gift."""
    gift = uow.recognition.gift(key)
    if gift is None:
        return None
    revoke_key = f"revoke:{key}"
    if (journal := replayed(uow, revoke_key, request_hash(k=key))) is not None:
        clawed, short = _int(journal.meta, "clawed"), _int(journal.meta, "short")
        return RevokeResult(gift=gift, clawed_back=clawed, shortfall=short, duplicate=True)
    if not uow.recognition.mark_revoked(key):
        return RevokeResult(gift=gift, clawed_back=0, shortfall=0, duplicate=True)
    # The giver's allowance row first, then the receiver's accounts: `give` takes its locks
    # in that order too, so a gift and a revoke never wait on each other in a cycle.
    uow.recognition.restore_allowance(gift.giver_id, gift.period, gift.points)
    accounts, balances = locked_balances(uow, gift.receiver_id)
    plan = plan_claw_back(uow, gift.receiver_id, gift.lot_id, gift.points, balances)
    clawed, short = plan.from_available, plan.shortfall
    meta: dict[str, object] = {"ref": gift.reason, "clawed": clawed, "short": short}
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.REVOKE,
            key=revoke_key,
            request_hash=request_hash(k=key),
            effective_at=now,
            member_id=gift.receiver_id,
            actor_id=actor_id,
            reverses_id=gift.journal_id,
            meta=meta,
        )
    )
    apply_claw_back(uow, journal_id, accounts, plan, Purpose.ISSUED_RECOGNITION, False)
    uow.domain_events.record(
        GiftRevoked(
            occurred_at=now,
            key=key,
            journal_id=journal_id,
            giver_id=gift.giver_id,
            receiver_id=gift.receiver_id,
            points=gift.points,
            clawed_back=clawed,
            shortfall=short,
            actor_id=actor_id,
        )
    )
    return RevokeResult(gift=gift, clawed_back=clawed, shortfall=short)


def _int(meta: dict[str, object], name: str) -> int:
    value = meta.get(name, 0)
    return value if isinstance(value, int) else 0
