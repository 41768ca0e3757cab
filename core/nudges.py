"""The nudge planner: reminders that reach each member at the right moment in their own day.

One set-based query per kind selects the members due (`NudgeStore`, in SQL: no loop over every
member); only those rows are looked at here, for what SQL cannot easily know: the member's
local day and time (their zone, their quiet hours, the program's `send_from`), and the
frequency cap across kinds inside one run. Each nudge has a dedupe key naming what it is about
(a lot, a voucher, a period, a tier window), so it is planned once however often the planner
runs; it is queued in the outbox in the member's category, with a one-tap next step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Protocol

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


# What a kind's method makes of a row: (ref, message key, parameters, why, bonus points).
_Made = tuple[str, str, dict[str, object], str, int]


@dataclass(frozen=True, kw_only=True)
class Window:
    """What every kind's query is asked with: the moment, the cap and the category."""

    now: datetime
    per_week: int
    category: str


@dataclass(frozen=True, kw_only=True)
class Due:
    """A member a kind's query selected, with what the nudge is about and how to reach them."""

    member_id: int
    subject: str  # a reward, voucher's reward, challenge or tier id ("" when none)
    ref: str  # what makes this nudge this one: a lot, a voucher, a period, a window's end
    amount: int  # points, what is left, what was spent so far
    at: datetime | None  # an expiry, the end of a streak, a challenge or a tier window
    time_zone: str | None
    quiet: tuple[int, int] | None  # minutes after local midnight, None: the default
    last_day: int  # nudges planned for the member in the last 24 hours
    last_week: int  # and in the last 7 days


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
class NudgePlan:
    """What one planner run decided: `count` nudges (listed in `planned` on a dry run only);
    `queued` counts what was new in the outbox."""

    planned: list[Planned] = field(default_factory=list)
    count: int = 0
    due: dict[str, int] = field(default_factory=dict)  # rows each kind's query selected
    capped: int = 0
    waiting: int = 0  # not yet their hour, or inside their quiet hours
    queued: int = 0


class NudgeStore(Protocol):
    """One query per kind; each leaves out members who opted out or reached the weekly cap."""

    def near_reward(self, window: Window, bands: Sequence[tuple[int, int]]) -> list[Due]: ...
    def points_expiring(self, window: Window, until: datetime) -> list[Due]: ...
    def vouchers_expiring(self, window: Window, until: datetime) -> list[Due]: ...
    def streaks_ending(self, window: Window, until: datetime) -> list[Due]: ...
    def challenges_ending(self, window: Window, until: datetime) -> list[Due]: ...
    def inactive(self, window: Window, before: datetime) -> list[Due]: ...
    def tiers_closing(self, window: Window, until: datetime, measure: str) -> list[Due]: ...
    def birthdays(self, window: Window, month_days: Sequence[str]) -> list[Due]: ...
    def planned_before(self, keys: Sequence[str]) -> set[str]: ...
    def queue(self, planned: Sequence[Planned], now: datetime) -> int: ...


def _button(label: str, command: str, **params: object) -> tuple[tuple[MessageButton, ...], ...]:
    return ((MessageButton(label=label, label_params=dict(params), command=command),),)


def last_day(moment: datetime, zone: tzinfo) -> date:
    """The local day an exclusive end (a midnight) closes."""
    return (moment - timedelta(microseconds=1)).astimezone(zone).date()


class NudgePlanner:
    """Plans the program's `[nudges]` for a moment `now` (the scheduler's or a test's clock)."""

    def __init__(self, store: NudgeStore, database: Database, program: Program) -> None:
        self._store = store
        self._database = database
        self._program = program

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
        taken: dict[int, int] = {}  # nudges given to a member in this run (the cap)
        for kind in rules.enabled():
            window = Window(now=now, per_week=rules.per_week, category=KIND_CATEGORY[kind])
            rows = self._select(kind, rules, window)
            plan.due[kind] = len(rows)
            candidates: list[tuple[Planned, Due]] = []
            for due in rows:
                already = taken.get(due.member_id, 0)
                if due.last_day + already >= rules.per_day or (
                    due.last_week + already >= rules.per_week
                ):
                    plan.capped += 1
                    continue
                zone = zone_of(due.time_zone, self._program.zone)
                if not self._its_hour(rules, due, now, zone):
                    plan.waiting += 1
                    continue
                made = self._make(kind, rules, due, now, zone)
                if made is not None:
                    candidates.append((made, due))
            del rows
            known = self._store.planned_before([item.dedupe_key for item, _ in candidates])
            chosen: list[Planned] = []
            for item, due in candidates:
                if item.dedupe_key in known:
                    continue  # this lot, voucher or period was nudged about before
                already = taken.get(item.member_id, 0)
                if due.last_day + already >= rules.per_day or (
                    due.last_week + already >= rules.per_week
                ):
                    plan.capped += 1  # an earlier kind took the member's share today
                    continue
                taken[item.member_id] = already + 1
                chosen.append(item)
            plan.count += len(chosen)
            if dry_run:
                plan.planned.extend(chosen)
                continue
            for item in chosen:
                if item.bonus:
                    self._give(item, now)
            plan.queued += self._store.queue(chosen, now) if chosen else 0
        return plan

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

    def _its_hour(self, rules: Nudges, due: Due, now: datetime, zone: tzinfo) -> bool:
        """From `send_from` in the member's day, and never inside their quiet hours."""
        local = now.astimezone(zone)
        if local.time().replace(tzinfo=None) < rules.send_from:
            return False
        quiet = QuietHours.from_minutes(*due.quiet) if due.quiet else DEFAULT_QUIET_HOURS
        return quiet.ends_at(now, zone) is None

    def _make(
        self, kind: str, rules: Nudges, due: Due, now: datetime, zone: tzinfo
    ) -> Planned | None:
        today = now.astimezone(zone).date()
        maker: Callable[[Due, date, Nudges], _Made | None] = getattr(self, f"_{kind}")
        made = maker(due, today, rules)
        if made is None:
            return None
        ref, key, params, why, bonus = made
        dedupe_key = f"{kind}:{due.member_id}:{ref}"
        label, command = _NEXT_STEP[kind]
        if kind == "near_reward" and params.get("redeem"):
            label, command = "nudge.button.redeem", f"/redeem {params['redeem']}"
        message = OutboxMessage(
            recipient=Recipient.member(due.member_id),
            key=key,
            params={k: v for k, v in params.items() if k != "redeem"},
            dedupe_key=f"nudge:{dedupe_key}",
            category=KIND_CATEGORY[kind],
            buttons=_button(label, command, **_label_params(params)),
        )
        return Planned(
            member_id=due.member_id,
            kind=kind,
            dedupe_key=dedupe_key,
            message=message,
            why=why,
            bonus=bonus,
        )

    # One method per kind: (ref, message key, parameters, why, bonus points) or None.

    def _near_reward(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        assert rules.near_reward is not None
        balance = due.amount
        rewards = sorted(self._program.rewards, key=lambda r: (r.price, r.id))
        affordable = [r for r in rewards if r.price <= balance]
        near = next((r for r in rewards if r.price > balance), None)
        if near is None or near.price - balance > rules.near_reward.within_points:
            return None
        params: dict[str, object] = {
            "left": near.price - balance,
            "reward": near.name,
            "points": balance,
        }
        key = "nudge.near_reward"
        if affordable:
            best = affordable[-1]
            params |= {"redeem": best.id, "affordable": best.name}
            key = "nudge.near_reward_affordable"
        why = f"{balance} points, {near.price - balance} from {near.name}"
        return f"{near.id}:{due.ref}", key, params, why, 0

    def _points_expiring(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        if due.at is None or due.amount <= 0:
            return None
        why = f"{due.amount} points expire {due.at.isoformat()}"
        return due.ref, "nudge.points_expiring", {"points": due.amount, "date": due.at}, why, 0

    def _voucher_expiring(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        if due.at is None:
            return None
        reward = self._program.reward(due.subject)
        name = reward.name if reward is not None else due.subject
        why = f"voucher {due.ref} ({name}) expires {due.at.isoformat()}"
        params: dict[str, object] = {"reward": name, "date": due.at}
        return due.ref, "nudge.voucher_expiring", params, why, 0

    def _streak(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        zone = zone_of(due.time_zone, self._program.zone)
        # One day is no streak to lose yet.
        if due.at is None or last_day(due.at, zone) != today or due.amount < 2:
            return None
        challenge = self._program.challenge(due.subject)
        if challenge is None:
            return None
        why = f"{due.amount}-day streak on {challenge.id} ends today ({today})"
        params: dict[str, object] = {"days": due.amount, "challenge": challenge.name}
        return f"{due.subject}:{due.ref}:{today}", "nudge.streak", params, why, 0

    def _challenge_ending(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        zone = zone_of(due.time_zone, self._program.zone)
        tomorrow = today + timedelta(days=1)
        if due.at is None or last_day(due.at, zone) != tomorrow or due.amount <= 0:
            return None
        challenge = self._program.challenge(due.subject)
        if challenge is None:
            return None
        left: object = due.amount
        key = f"nudge.challenge_ending.{challenge.kind.value}"
        if challenge.kind.value == "spend":
            left = self._money(due.amount)
        why = f"{challenge.id} ends {tomorrow}, {left} left"
        params: dict[str, object] = {"challenge": challenge.name, "left": left}
        return f"{due.subject}:{due.ref}", key, params, why, 0

    def _winback(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        assert rules.winback is not None
        bonus = rules.winback.bonus_points or 0
        key = "nudge.winback_bonus" if bonus else "nudge.winback"
        why = f"no purchase since {due.ref[:10]}" + (f", {bonus} bonus points" if bonus else "")
        params: dict[str, object] = {"points": bonus, "program": self._program.program.name}
        return due.ref, key, params, why, bonus

    def _tier_keep(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        index = self._program.tier_index(due.subject)
        if index is None or index == 0 or due.at is None:
            return None
        tier = self._program.tiers[index]
        if self._program.tier_qualification.measure == "spend":
            needed = self._program.to_minor(tier.threshold) - due.amount
            left: object = self._money(needed)
        else:
            needed = int(tier.threshold) - due.amount
            left = needed
        if needed <= 0:
            return None
        key = f"nudge.tier_keep_{self._program.tier_qualification.measure}"
        why = f"{tier.id} window closes {due.at.isoformat()}, {left} to go"
        params: dict[str, object] = {"tier": tier.name, "left": left, "date": due.at}
        return f"{tier.id}:{due.ref}", key, params, why, 0

    def _birthday(self, due: Due, today: date, rules: Nudges) -> _Made | None:
        assert rules.birthday is not None
        if observed_on(date.fromisoformat(due.ref[:10]), today.year) != today:
            return None
        bonus = rules.birthday.bonus_points or 0
        key = "nudge.birthday_bonus" if bonus else "nudge.birthday"
        why = f"birthday today ({today})" + (f", {bonus} bonus points" if bonus else "")
        params: dict[str, object] = {"points": bonus, "program": self._program.program.name}
        return str(today.year), key, params, why, bonus

    def _money(self, minor: int) -> str:
        info = self._program.program
        amount = Decimal(minor).scaleb(-info.currency_decimals)
        return f"{amount:.{info.currency_decimals}f} {info.currency}"

    def _give(self, item: Planned, now: datetime) -> None:
        """The bonus a nudge announces, once per nudge (its dedupe key is the journal's key)."""
        self._database.run(
            lambda uow: give_bonus(
                uow,
                self._program,
                member_id=item.member_id,
                key=f"nudge:{item.dedupe_key}",
                points=item.bonus,
                source=Purpose.ISSUED_ACTION,
                reason=item.kind,
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


def _label_params(params: dict[str, object]) -> dict[str, object]:
    return {"reward": params["affordable"]} if "affordable" in params else {}
