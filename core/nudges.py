"""The nudge planner: reminders that reach each member at the right moment in their own day.

One set-based query per kind selects the members due (`NudgeStore`, in SQL: no loop over every
member); only those rows are looked at here, for what SQL cannot easily know: the member's
local day and time (their zone, their quiet hours, the program's `send_from`), and the
frequency cap across kinds inside one run. Each nudge has a dedupe key naming what it is about
(a lot, a voucher, a period, a tier window), so it is planned once however often the planner
runs; it is queued in the outbox in the member's category, with a one-tap next step.

A day can select a hundred thousand rows, so the work per row is kept to what differs per row:
the local time is worked out once per zone and quiet hours (`_LocalDays`), each kind's buttons
are made once (a row names its variant), and the nudges go to the store as columns, written in
bulk (`NudgeBatch`); message objects and the reasons are made for the dry run only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import NamedTuple, Protocol

from core import categories
from core.birthdays import month_days, observed_on
from core.bonuses import give_bonus
from core.model import Purpose
from core.nudge_rules import Nudges
from core.outbox import MessageButton, OutboxMessage, Recipient
from core.ports import Database
from core.preferences import DEFAULT_QUIET_HOURS, QuietHours
from core.program import Program
from core.zones import zone_of

# Each kind is its own message category, so a member may keep some and switch others off.
KIND_CATEGORY = {
    "near_reward": categories.NEAR_REWARD,
    "points_expiring": categories.POINTS_EXPIRING,
    "voucher_expiring": categories.VOUCHER_EXPIRING,
    "streak": categories.STREAK,
    "challenge_ending": categories.CHALLENGE_ENDING,
    "winback": categories.WINBACK,
    "tier_keep": categories.TIER_KEEP,
    "birthday": categories.BIRTHDAY,
}

Buttons = tuple[tuple[MessageButton, ...], ...]


@dataclass(frozen=True, kw_only=True)
class Window:
    """What every kind's query is asked with: the moment and the category."""

    now: datetime
    category: str


class Due(NamedTuple):
    """A member a kind's query selected, with what the nudge is about and how to reach them
    (a tuple: there may be a hundred thousand of them)."""

    member_id: int
    subject: str  # a reward, voucher's reward, challenge or tier id ("" when none)
    ref: str  # what makes this nudge this one: a lot, a voucher, a period, a window's end
    amount: int  # points, what is left, what was spent so far
    at: datetime | None  # an expiry, the end of a streak, a challenge or a tier window (UTC)
    time_zone: str | None
    quiet: tuple[int, int] | None  # minutes after local midnight, None: the default
    last_day: int  # nudges planned for the member in the last 24 hours
    last_week: int  # and in the last 7 days


class _Made(NamedTuple):
    """What a kind's method makes of a row."""

    ref: str  # the dedupe key's last part
    key: str  # the message's catalog key
    params: dict[str, object]
    button: str  # the kind's button variant ("" the kind's own; "redeem:<reward>")
    bonus: int
    why: str  # for the dry run ("" otherwise)


@dataclass(frozen=True, kw_only=True)
class Planned:
    """A nudge to queue: its member, kind, dedupe key, message and why (for the dry run)."""

    member_id: int
    kind: str
    dedupe_key: str
    message: OutboxMessage
    why: str
    bonus: int = 0


@dataclass(kw_only=True)
class NudgeBatch:
    """One kind's nudges to record and queue, as columns (one entry per nudge): the store
    writes them in bulk. `buttons[i]` names one of `button_rows`, made once per variant."""

    kind: str
    category: str
    member_ids: list[int] = field(default_factory=list)
    dedupe_keys: list[str] = field(default_factory=list)  # the outbox's is "nudge:" + this
    message_keys: list[str] = field(default_factory=list)
    params: list[dict[str, object]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    button_rows: dict[str, Buttons] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.member_ids)


@dataclass(kw_only=True)
class NudgePlan:
    """What one planner run decided: `count` nudges (listed in `planned` on a dry run only);
    `queued` counts what was new in the outbox."""

    planned: list[Planned] = field(default_factory=list)
    count: int = 0
    due: dict[str, int] = field(default_factory=dict)  # rows each kind's query selected
    capped: int = 0  # held back by the cap (the day's or the week's)
    waiting: int = 0  # not yet their hour, or inside their quiet hours
    queued: int = 0


class NudgeStore(Protocol):
    """One query per kind; each leaves out members who opted out of it, and gives with each row
    the member's nudges of the last day and week, for the cap the planner keeps."""

    def near_reward(self, window: Window, bands: Sequence[tuple[int, int]]) -> list[Due]: ...
    def points_expiring(self, window: Window, until: datetime) -> list[Due]: ...
    def vouchers_expiring(self, window: Window, until: datetime) -> list[Due]: ...
    def streaks_ending(self, window: Window, until: datetime) -> list[Due]: ...
    def challenges_ending(self, window: Window, until: datetime) -> list[Due]: ...
    def inactive(self, window: Window, before: datetime) -> list[Due]: ...
    def tiers_closing(self, window: Window, until: datetime, measure: str) -> list[Due]: ...
    def birthdays(self, window: Window, month_days: Sequence[str]) -> list[Due]: ...
    def planned_before(self, keys: Sequence[str]) -> set[str]: ...
    def queue(self, batch: NudgeBatch, now: datetime) -> int: ...


def last_day(moment: datetime, zone: tzinfo) -> date:
    """The local day an exclusive end (a midnight) closes."""
    return (moment - timedelta(microseconds=1)).astimezone(zone).date()


class _Local:
    """A member's day at the planning moment: their zone, today there, and the local day an
    end closes (remembered per end: many rows share one)."""

    __slots__ = ("_ends", "today", "zone")

    def __init__(self, zone: tzinfo, today: date) -> None:
        self.zone = zone
        self.today = today
        self._ends: dict[datetime, date] = {}

    def last_day(self, moment: datetime) -> date:
        """`last_day(moment, self.zone)`."""
        found = self._ends.get(moment)
        if found is None:
            found = self._ends[moment] = last_day(moment, self.zone)
        return found


class _LocalDays:
    """Local time at one moment, worked out once per zone and quiet hours, not once per row:
    a member's day, and whether a nudge may go to them now."""

    def __init__(self, now: datetime, rules: Nudges, fallback: tzinfo) -> None:
        self._now = now
        self._rules = rules
        self._fallback = fallback
        self._open: dict[tuple[str | None, tuple[int, int] | None], _Local | None] = {}
        self._zones: dict[str | None, _Local] = {}

    def open(self, time_zone: str | None, quiet: tuple[int, int] | None) -> _Local | None:
        """The member's day if it is their hour (from `send_from`, outside their quiet hours);
        None while a nudge must wait."""
        try:
            return self._open[time_zone, quiet]
        except KeyError:
            pass
        day = self._zones.get(time_zone)
        if day is None:
            zone = zone_of(time_zone, self._fallback)
            day = self._zones[time_zone] = _Local(zone, self._now.astimezone(zone).date())
        local = self._now.astimezone(day.zone).time().replace(tzinfo=None)
        hours = QuietHours.from_minutes(*quiet) if quiet else DEFAULT_QUIET_HOURS
        its_hour = local >= self._rules.send_from and hours.ends_at(self._now, day.zone) is None
        found = self._open[time_zone, quiet] = day if its_hour else None
        return found


class NudgePlanner:
    """Plans the program's `[nudges]` for a moment `now` (the scheduler's or a test's clock)."""

    def __init__(self, store: NudgeStore, database: Database, program: Program) -> None:
        self._store = store
        self._database = database
        self._program = program
        self._rewards = sorted(program.rewards, key=lambda r: (r.price, r.id))
        # The program's lookups by id (first of an id wins, as theirs), once, not once per row.
        self._reward_ids = {r.id: r for r in reversed(program.rewards)}
        self._challenges = {c.id: c for c in reversed(program.challenges)}
        self._tier_ids = {t.id: n for n, t in reversed(list(enumerate(program.tiers)))}

    @property
    def rules(self) -> Nudges | None:
        """The program's nudges section (None: no nudges)."""
        return self._program.nudges

    def plan(self, now: datetime, *, dry_run: bool = False) -> NudgePlan:
        """Select, filter and (unless `dry_run`) give bonuses and queue the nudges due now.

        Kind by kind, most urgent first, each kind's nudges queued before the next is read:
        memory holds one kind's rows at a time, and the cap sees what earlier kinds took.
        """
        plan = NudgePlan()
        rules = self._program.nudges
        if rules is None:
            return plan
        days = _LocalDays(now, rules, self._program.zone)
        # Nudges given to a member in this run that the rows' counts do not hold (the cap): a
        # kind's own, and on a dry run, which queues nothing, the earlier kinds' too (queued,
        # they are in the next kind's counts already).
        taken: dict[int, int] = {}
        per_day, per_week = rules.per_day, rules.per_week
        for kind in rules.enabled():
            if not dry_run:
                taken.clear()
            window = Window(now=now, category=KIND_CATEGORY[kind])
            rows = self._select(kind, rules, window)
            plan.due[kind] = len(rows)
            maker: Callable[[Due, _Local, Nudges, bool], _Made | None] = getattr(self, f"_{kind}")
            made: list[tuple[Due, _Made]] = []
            for due in rows:
                already = taken.get(due.member_id, 0)
                if due.last_day + already >= per_day or due.last_week + already >= per_week:
                    plan.capped += 1
                    continue
                local = days.open(due.time_zone, due.quiet)
                if local is None:
                    plan.waiting += 1
                    continue
                item = maker(due, local, rules, dry_run)
                if item is not None:
                    made.append((due, item))
            del rows
            keys = [f"{kind}:{due.member_id}:{item.ref}" for due, item in made]
            known = self._store.planned_before(keys)
            batch = NudgeBatch(kind=kind, category=KIND_CATEGORY[kind])
            bonuses: list[tuple[int, str, int]] = []
            for (due, item), key in zip(made, keys, strict=True):
                if key in known:
                    continue  # this lot, voucher or period was nudged about before
                already = taken.get(due.member_id, 0)
                if due.last_day + already >= per_day or due.last_week + already >= per_week:
                    plan.capped += 1  # an earlier nudge of this run took the member's share
                    continue
                taken[due.member_id] = already + 1
                self._add(batch, due.member_id, key, item)
                if dry_run:
                    plan.planned.append(self._planned(batch, item))
                elif item.bonus:
                    bonuses.append((due.member_id, key, item.bonus))
            del made, keys
            plan.count += len(batch)
            if dry_run or not batch:
                continue
            for member_id, key, points in bonuses:
                self._give(kind, member_id, key, points, now)
            plan.queued += self._store.queue(batch, now)
        return plan

    def _add(self, batch: NudgeBatch, member_id: int, key: str, item: _Made) -> None:
        batch.member_ids.append(member_id)
        batch.dedupe_keys.append(key)
        batch.message_keys.append(item.key)
        batch.params.append(item.params)
        batch.buttons.append(item.button)
        if item.button not in batch.button_rows:
            batch.button_rows[item.button] = self._buttons(batch.kind, item.button)

    def _buttons(self, kind: str, variant: str) -> Buttons:
        """The one-tap next step under a kind's nudges (near a reward: Redeem when affordable)."""
        label, command = _NEXT_STEP[kind]
        params: dict[str, object] = {}
        if variant.startswith("redeem:"):
            reward = self._program.reward(variant.removeprefix("redeem:"))
            label, command = "nudge.button.redeem", f"/redeem {variant.removeprefix('redeem:')}"
            params = {"reward": reward.name if reward is not None else variant}
        return ((MessageButton(label=label, label_params=params, command=command),),)

    def _planned(self, batch: NudgeBatch, item: _Made) -> Planned:
        """The last nudge added to `batch`, as the dry run lists it."""
        member_id, key = batch.member_ids[-1], batch.dedupe_keys[-1]
        message = OutboxMessage(
            recipient=Recipient.member(member_id),
            key=item.key,
            params=item.params,
            dedupe_key=f"nudge:{key}",
            category=batch.category,
            buttons=batch.button_rows[item.button],
        )
        return Planned(
            member_id=member_id,
            kind=batch.kind,
            dedupe_key=key,
            message=message,
            why=item.why,
            bonus=item.bonus,
        )

    def _select(self, kind: str, rules: Nudges, window: Window) -> list[Due]:
        now, store = window.now, self._store
        day = timedelta(days=1)
        if kind == "near_reward" and rules.near_reward is not None:
            within = rules.near_reward.within_points
            prices = sorted({reward.price for reward in self._program.rewards})
            bands = [(max(price - within, 0), price - 1) for price in prices]
            rows = store.near_reward(window, bands)
        elif kind == "points_expiring" and rules.points_expiring is not None:
            rows = store.points_expiring(window, now + rules.points_expiring.days * day)
        elif kind == "voucher_expiring" and rules.voucher_expiring is not None:
            rows = store.vouchers_expiring(window, now + rules.voucher_expiring.days * day)
        elif kind == "streak":
            rows = store.streaks_ending(window, now + 2 * day)  # today, in any zone
        elif kind == "challenge_ending":
            rows = store.challenges_ending(window, now + 3 * day)  # tomorrow, in any zone
        elif kind == "winback" and rules.winback is not None:
            rows = store.inactive(window, now - rules.winback.days * day)
        elif kind == "tier_keep" and rules.tier_keep is not None:
            measure = self._program.tier_qualification.measure
            rows = store.tiers_closing(window, now + rules.tier_keep.days * day, measure)
        elif kind == "birthday":  # today somewhere: the days around today in UTC
            days = [md for n in (-1, 0, 1) for md in month_days((now + n * day).date())]
            rows = store.birthdays(window, days)
        else:
            rows = []
        return rows

    # One method per kind: what it makes of a row (`_Made`), or None when it is no nudge after
    # all; `explain`: say why (the dry run).

    def _near_reward(self, due: Due, local: _Local, rules: Nudges, explain: bool) -> _Made | None:
        assert rules.near_reward is not None
        balance = due.amount
        rewards = self._rewards
        near = next((r for r in rewards if r.price > balance), None)
        if near is None or near.price - balance > rules.near_reward.within_points:
            return None
        params: dict[str, object] = {
            "left": near.price - balance,
            "reward": near.name,
            "points": balance,
        }
        key, button = "nudge.near_reward", ""
        best = next((r for r in reversed(rewards) if r.price <= balance), None)
        if best is not None:
            params["affordable"] = best.name
            key, button = "nudge.near_reward_affordable", f"redeem:{best.id}"
        why = f"{balance} points, {near.price - balance} from {near.name}" if explain else ""
        return _Made(f"{near.id}:{due.ref}", key, params, button, 0, why)

    def _points_expiring(
        self, due: Due, local: _Local, rules: Nudges, explain: bool
    ) -> _Made | None:
        if due.at is None or due.amount <= 0:
            return None
        why = f"{due.amount} points expire {due.at.isoformat()}" if explain else ""
        params: dict[str, object] = {"points": due.amount, "date": due.at}
        return _Made(due.ref, "nudge.points_expiring", params, "", 0, why)

    def _voucher_expiring(
        self, due: Due, local: _Local, rules: Nudges, explain: bool
    ) -> _Made | None:
        if due.at is None:
            return None
        reward = self._reward_ids.get(due.subject)
        name = reward.name if reward is not None else due.subject
        why = f"voucher {due.ref} ({name}) expires {due.at.isoformat()}" if explain else ""
        params: dict[str, object] = {"reward": name, "date": due.at}
        return _Made(due.ref, "nudge.voucher_expiring", params, "", 0, why)

    def _streak(self, due: Due, local: _Local, rules: Nudges, explain: bool) -> _Made | None:
        today = local.today
        # One day is no streak to lose yet.
        if due.at is None or due.amount < 2 or local.last_day(due.at) != today:
            return None
        challenge = self._challenges.get(due.subject)
        if challenge is None:
            return None
        why = f"{due.amount}-day streak on {challenge.id} ends today ({today})" if explain else ""
        params: dict[str, object] = {"days": due.amount, "challenge": challenge.name}
        return _Made(f"{due.subject}:{due.ref}:{today}", "nudge.streak", params, "", 0, why)

    def _challenge_ending(
        self, due: Due, local: _Local, rules: Nudges, explain: bool
    ) -> _Made | None:
        tomorrow = local.today + timedelta(days=1)
        if due.at is None or due.amount <= 0 or local.last_day(due.at) != tomorrow:
            return None
        challenge = self._challenges.get(due.subject)
        if challenge is None:
            return None
        left: object = due.amount
        key = f"nudge.challenge_ending.{challenge.kind.value}"
        if challenge.kind.value == "spend":
            left = self._money(due.amount)
        why = f"{challenge.id} ends {tomorrow}, {left} left" if explain else ""
        params: dict[str, object] = {"challenge": challenge.name, "left": left}
        return _Made(f"{due.subject}:{due.ref}", key, params, "", 0, why)

    def _winback(self, due: Due, local: _Local, rules: Nudges, explain: bool) -> _Made | None:
        assert rules.winback is not None
        bonus = rules.winback.bonus_points or 0
        key = "nudge.winback_bonus" if bonus else "nudge.winback"
        why = ""
        if explain:
            why = f"no purchase since {due.ref[:10]}" + (f", {bonus} bonus points" if bonus else "")
        params: dict[str, object] = {"points": bonus, "program": self._program.program.name}
        return _Made(due.ref, key, params, "", bonus, why)

    def _tier_keep(self, due: Due, local: _Local, rules: Nudges, explain: bool) -> _Made | None:
        index = self._tier_ids.get(due.subject)
        if index is None or index == 0 or due.at is None:
            return None
        tier = self._program.tiers[index]
        measure = self._program.tier_qualification.measure
        if measure == "spend":
            needed = self._program.to_minor(tier.threshold) - due.amount
            left: object = self._money(needed)
        else:
            needed = int(tier.threshold) - due.amount
            left = needed
        if needed <= 0:
            return None
        why = f"{tier.id} window closes {due.at.isoformat()}, {left} to go" if explain else ""
        params: dict[str, object] = {"tier": tier.name, "left": left, "date": due.at}
        return _Made(f"{tier.id}:{due.ref}", f"nudge.tier_keep_{measure}", params, "", 0, why)

    def _birthday(self, due: Due, local: _Local, rules: Nudges, explain: bool) -> _Made | None:
        assert rules.birthday is not None
        today = local.today
        if observed_on(date.fromisoformat(due.ref[:10]), today.year) != today:
            return None
        bonus = rules.birthday.bonus_points or 0
        key = "nudge.birthday_bonus" if bonus else "nudge.birthday"
        why = ""
        if explain:
            why = f"birthday today ({today})" + (f", {bonus} bonus points" if bonus else "")
        params: dict[str, object] = {"points": bonus, "program": self._program.program.name}
        return _Made(str(today.year), key, params, "", bonus, why)

    def _money(self, minor: int) -> str:
        info = self._program.program
        amount = Decimal(minor).scaleb(-info.currency_decimals)
        return f"{amount:.{info.currency_decimals}f} {info.currency}"

    def _give(self, kind: str, member_id: int, key: str, points: int, now: datetime) -> None:
        """The bonus a nudge announces, once per nudge (its dedupe key is the journal's key)."""
        self._database.run(
            lambda uow: give_bonus(
                uow,
                self._program,
                member_id=member_id,
                key=f"nudge:{key}",
                points=points,
                source=Purpose.ISSUED_ACTION,
                reason=kind,
                hold_days=0,
                now=now,
            )
        )


# The one-tap next step under each kind (the near-reward one becomes Redeem when affordable).
_NEXT_STEP = {
    "near_reward": ("nudge.button.rewards", "/rewards"),
    "points_expiring": ("nudge.button.rewards", "/rewards"),
    "voucher_expiring": ("nudge.button.vouchers", "/vouchers"),
    "streak": ("nudge.button.challenges", "/challenges"),
    "challenge_ending": ("nudge.button.challenges", "/challenges"),
    "winback": ("nudge.button.balance", "/balance"),
    "tier_keep": ("nudge.button.balance", "/balance"),
    "birthday": ("nudge.button.rewards", "/rewards"),
}
