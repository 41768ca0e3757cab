"""Challenge progress as a pure function of the facts a challenge counts.

A fact is what one event contributed: a purchase (with its refunds, which share its `ref`), a
check-in or an awarded action, on the member's local day. Facts are kept by key, so the same
event applied twice is one fact; progress sums, counts and takes sets over them, so their order
does not matter; and a refund is a negative fact of its purchase, so it takes back exactly the
progress that purchase gave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from core.challenge_rules import Challenge, ChallengeKind
from core.windows import Window


class FactKind(StrEnum):
    """The kind of event a fact came from."""

    PURCHASE = "purchase"  # refunds are purchase facts with a negative amount
    CHECKIN = "checkin"
    ACTION = "action"


@dataclass(frozen=True, kw_only=True)
class FactRow:
    """One stored fact, unique by `key`; a refund's `ref` is its purchase's key."""

    key: str
    ref: str
    kind: FactKind
    day: date
    store: str | None = None
    action: str | None = None
    amount_minor: int = 0


@dataclass(frozen=True, kw_only=True)
class Fact:
    """The facts of one `ref` together: a purchase net of its refunds, a check-in, an action."""

    ref: str
    kind: FactKind
    day: date
    store: str | None = None
    action: str | None = None
    net_minor: int = 0
    gross_minor: int = 0  # what the purchase was before refunds

    @property
    def visit(self) -> bool:
        """A check-in, or a purchase not wholly refunded."""
        return self.kind is FactKind.CHECKIN or (
            self.kind is FactKind.PURCHASE and self.net_minor > 0
        )

    @property
    def kept_share(self) -> Decimal:
        """The share of the purchase that was not refunded (1 for other facts)."""
        if self.kind is not FactKind.PURCHASE or self.gross_minor <= 0:
            return Decimal(1)
        return Decimal(max(self.net_minor, 0)) / Decimal(self.gross_minor)


@dataclass(frozen=True, kw_only=True)
class ItemFact:
    """One line of a purchase (`ref`): a product in a category."""

    ref: str
    line: int
    day: date
    sku: str
    category: str | None = None
    amount_minor: int = 0


def facts_of(rows: Iterable[FactRow]) -> list[Fact]:
    """Stored rows folded by `ref` (a purchase with its refunds); repeated keys count once."""
    unique = {row.key: row for row in rows}
    grouped: dict[str, Fact] = {}
    for row in unique.values():
        found = grouped.get(row.ref)
        gross = max(row.amount_minor, 0)
        if found is None:
            grouped[row.ref] = Fact(
                ref=row.ref,
                kind=row.kind,
                day=row.day,
                store=row.store,
                action=row.action,
                net_minor=row.amount_minor,
                gross_minor=gross,
            )
        else:  # a refund carries its purchase's day and store, so only the amounts differ
            grouped[row.ref] = Fact(
                ref=row.ref,
                kind=found.kind,
                day=found.day,
                store=found.store,
                action=found.action,
                net_minor=found.net_minor + row.amount_minor,
                gross_minor=max(found.gross_minor, gross),
            )
    return list(grouped.values())


@dataclass(frozen=True, kw_only=True)
class Streak:
    """A run of visit days where no gap is longer than the grace days."""

    length: int  # visit days in the run (missed days forgiven do not count)
    last_day: date

    def ends_on(self, grace_days: int) -> date:
        """The last day a visit keeps the run going: it ends that night."""
        return self.last_day + timedelta(days=grace_days + 1)

    def alive(self, today: date, grace_days: int) -> bool:
        """True while a visit today (or by `ends_on`) would still continue the run."""
        return today <= self.ends_on(grace_days)


def streaks(days: Iterable[date], grace_days: int) -> list[Streak]:
    """The runs of visit days, oldest first."""
    runs: list[Streak] = []
    for day in sorted(set(days)):
        last = runs[-1] if runs else None
        if last is not None and (day - last.last_day).days - 1 <= grace_days:
            runs[-1] = Streak(length=last.length + 1, last_day=day)
        else:
            runs.append(Streak(length=1, last_day=day))
    return runs


def visit_days(challenge: Challenge, facts: Iterable[Fact]) -> set[date]:
    """Local days with a visit that `challenge` counts (at its stores, if it names any)."""
    stores = set(challenge.stores)
    return {f.day for f in facts if f.visit and (not stores or f.store in stores)}


def target_of(challenge: Challenge, decimals: int) -> int:
    """The target as stored: money in minor units, anything else as a whole number."""
    if challenge.kind is ChallengeKind.SPEND:
        return int(challenge.target.scaleb(decimals))
    return int(challenge.target)


def progress_value(
    challenge: Challenge, window: Window, facts: Iterable[Fact], items: Iterable[ItemFact] = ()
) -> int:
    """Where a member stands on `challenge` in `window`, from the facts it counts."""
    return FactIndex(facts, items).value(challenge, window)


def current_streak(challenge: Challenge, window: Window, facts: Iterable[Fact]) -> Streak | None:
    """The latest run of visit days in the window (alive or not), if there was a visit."""
    return FactIndex(facts).streak(challenge, window)


class FactIndex:
    """A member's facts, with what each window sums up worked out once: one purchase moves many
    challenges over the same few windows, and they share their days, spend and runs."""

    def __init__(self, facts: Iterable[Fact], items: Iterable[ItemFact] = ()) -> None:
        self._facts = list(facts)
        # A line counts once, like a fact.
        self._items = list({(item.ref, item.line): item for item in items}.values())
        self._inside: dict[tuple[date, date], list[Fact]] = {}
        self._days: dict[tuple[date, date, tuple[str, ...]], set[date]] = {}
        self._runs: dict[tuple[date, date, tuple[str, ...], int], list[Streak]] = {}
        self._spend: dict[tuple[date, date], int] = {}

    def inside(self, window: Window) -> list[Fact]:
        """The facts of the window's days."""
        key = (window.first_day, window.last_day)
        found = self._inside.get(key)
        if found is None:
            first, last = key
            found = self._inside[key] = [f for f in self._facts if first <= f.day <= last]
        return found

    def visit_days(self, challenge: Challenge, window: Window) -> set[date]:
        """Days with a visit the challenge counts (at its stores, if it names any)."""
        key = (window.first_day, window.last_day, tuple(challenge.stores))
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = visit_days(challenge, self.inside(window))
        return found

    def runs(self, challenge: Challenge, window: Window) -> list[Streak]:
        """The runs of visit days in the window, oldest first."""
        key = (window.first_day, window.last_day, tuple(challenge.stores), challenge.grace_days)
        found = self._runs.get(key)
        if found is None:
            found = self._runs[key] = streaks(self.visit_days(challenge, window),
                                              challenge.grace_days)  # fmt: skip
        return found

    def streak(self, challenge: Challenge, window: Window) -> Streak | None:
        """The latest run in the window, if there was a visit."""
        runs = self.runs(challenge, window)
        return runs[-1] if runs else None

    def value(self, challenge: Challenge, window: Window) -> int:
        """Where a member stands on `challenge` in `window`."""
        kind = challenge.kind
        if kind is ChallengeKind.VISITS:
            return len(self.visit_days(challenge, window))
        if kind is ChallengeKind.STREAK:
            return max((run.length for run in self.runs(challenge, window)), default=0)
        inside = self.inside(window)
        if kind is ChallengeKind.ACTIONS:
            wanted = set(challenge.actions)
            return sum(1 for f in inside if f.kind is FactKind.ACTION and f.action in wanted)
        if kind is ChallengeKind.SPEND and not challenge.categories:
            return self._spent(window)
        purchases = {f.ref: f for f in inside if f.kind is FactKind.PURCHASE}
        lines = self._counted_items(challenge, purchases)
        if kind is ChallengeKind.SPEND:
            return sum(int(item.amount_minor * purchases[item.ref].kept_share) for item in lines)
        if challenge.count == "categories":
            return len({item.category for item in lines if item.category})
        return len({item.sku for item in lines})

    def _spent(self, window: Window) -> int:
        key = (window.first_day, window.last_day)
        found = self._spend.get(key)
        if found is None:
            found = self._spend[key] = sum(
                max(f.net_minor, 0) for f in self.inside(window) if f.kind is FactKind.PURCHASE
            )
        return found

    def _counted_items(self, challenge: Challenge, purchases: Mapping[str, Fact]) -> list[ItemFact]:
        """Lines of purchases in the window that were not wholly refunded, in the categories
        the challenge names (any category when it names none)."""
        wanted = {c.lower() for c in challenge.categories}
        return [
            item
            for item in self._items
            if item.ref in purchases
            and purchases[item.ref].net_minor > 0
            and (not wanted or (item.category or "").lower() in wanted)
        ]
