"""Challenge progress as a pure function of counted facts: order, repetition and refunds."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.challenge_rules import Challenge
from core.progress import (
    FactKind,
    FactRow,
    ItemFact,
    current_streak,
    facts_of,
    progress_value,
    streaks,
)
from core.windows import Window, WindowKind, window_on

MONTH = window_on(WindowKind.MONTHLY, date(2026, 3, 1))
assert MONTH is not None

CHALLENGES = [
    Challenge(id="visits", name="Visits", kind="visits", target=5, window="monthly", points=1),
    Challenge(id="spend", name="Spend", kind="spend", target=40, window="monthly", points=1),
    Challenge(
        id="pastry",
        name="Pastry",
        kind="spend",
        target=10,
        window="monthly",
        points=1,
        categories=["pastry"],
    ),
    Challenge(id="tries", name="Tries", kind="distinct", target=3, window="monthly", points=1),
    Challenge(
        id="kinds",
        name="Kinds",
        kind="distinct",
        count="categories",
        target=2,
        window="monthly",
        points=1,
    ),
    Challenge(
        id="streak",
        name="Streak",
        kind="streak",
        target=3,
        grace_days=1,
        window="monthly",
        points=1,
    ),
    Challenge(
        id="reviews",
        name="Reviews",
        kind="actions",
        actions=["review"],
        target=2,
        window="monthly",
        points=1,
    ),
    Challenge(
        id="harbour",
        name="Harbour",
        kind="visits",
        target=2,
        window="monthly",
        points=1,
        stores=["harbour"],
    ),
]

# The rows, the item lines, and the refs refunded in full.
History = tuple[list[FactRow], list[ItemFact], set[str]]


@st.composite
def histories(draw: st.DrawFn) -> History:
    """Purchases (with items), check-ins and actions in March, some purchases refunded (fully
    or in part); returns the rows, the item lines, and the refs refunded in full."""
    rows: list[FactRow] = []
    items: list[ItemFact] = []
    fully: set[str] = set()
    for n in range(draw(st.integers(0, 8))):
        day = MONTH.first_day + timedelta(days=draw(st.integers(0, 30)))
        store = draw(st.sampled_from([None, "main-st", "harbour"]))
        kind = draw(st.sampled_from(list(FactKind)))
        key = f"{kind.value}:{n}"
        if kind is FactKind.ACTION:
            action = draw(st.sampled_from(["review", "share"]))
            rows.append(FactRow(key=key, ref=key, kind=kind, day=day, action=action))
            continue
        amount = draw(st.integers(1, 3000)) if kind is FactKind.PURCHASE else 0
        rows.append(FactRow(key=key, ref=key, kind=kind, day=day, store=store, amount_minor=amount))
        if kind is not FactKind.PURCHASE:
            continue
        for line in range(draw(st.integers(0, 2))):
            sku = draw(st.sampled_from(["croissant", "muffin", "latte", "scone"]))
            category = "drink" if sku == "latte" else "pastry"
            items.append(
                ItemFact(
                    ref=key,
                    line=line,
                    day=day,
                    sku=sku,
                    category=category,
                    amount_minor=draw(st.integers(0, amount)),
                )
            )
        refund = draw(st.sampled_from(["none", "part", "full"]))
        if refund == "part" and amount > 1:
            rows.append(
                FactRow(
                    key=f"refund:{n}",
                    ref=key,
                    kind=kind,
                    day=day,
                    store=store,
                    amount_minor=-(amount // 2),
                )
            )
        elif refund == "full":
            rows.append(
                FactRow(
                    key=f"refund:{n}",
                    ref=key,
                    kind=kind,
                    day=day,
                    store=store,
                    amount_minor=-amount,
                )
            )
            fully.add(key)
    return rows, items, fully


def values(rows: list[FactRow], items: list[ItemFact], window: Window = MONTH) -> dict[str, int]:
    facts = facts_of(rows)
    return {c.id: progress_value(c, window, facts, items) for c in CHALLENGES}


@settings(max_examples=200, deadline=None)
@given(histories(), st.data())
def test_progress_is_the_same_in_any_order_and_however_often_a_fact_arrives(
    history: History, data: st.DataObject
) -> None:
    rows, items, _ = history
    shuffled = list(rows)
    data.draw(st.randoms(use_true_random=False)).shuffle(shuffled)
    repeated = shuffled + data.draw(
        st.lists(st.sampled_from(rows), max_size=6) if rows else st.just([])
    )
    items_again = list(reversed(items)) + items
    assert values(repeated, items_again) == values(rows, items)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_a_full_refund_takes_back_exactly_what_its_purchase_gave(
    history: History,
) -> None:
    rows, items, fully = history
    # Without the refunded purchases at all (and without their refunds and items)...
    never = [r for r in rows if r.ref not in fully]
    kept_items = [i for i in items if i.ref not in fully]
    assert values(rows, items) == values(never, kept_items)


@settings(max_examples=100, deadline=None)
@given(histories())
def test_progress_never_counts_outside_its_window(
    history: History,
) -> None:
    rows, items, _ = history
    april = window_on(WindowKind.MONTHLY, date(2026, 4, 1))
    assert april is not None
    assert set(values(rows, items, april).values()) == {0}


def test_a_visit_is_a_day_not_a_receipt_and_a_refunded_purchase_is_no_visit() -> None:
    day = date(2026, 3, 3)
    rows = [
        FactRow(key="p1", ref="p1", kind=FactKind.PURCHASE, day=day, amount_minor=500),
        FactRow(key="p2", ref="p2", kind=FactKind.PURCHASE, day=day, amount_minor=300),
        FactRow(key="c1", ref="c1", kind=FactKind.CHECKIN, day=day, store="main-st"),
        FactRow(
            key="p3",
            ref="p3",
            kind=FactKind.PURCHASE,
            day=day + timedelta(days=1),
            amount_minor=200,
        ),
        FactRow(
            key="r3",
            ref="p3",
            kind=FactKind.PURCHASE,
            day=day + timedelta(days=1),
            amount_minor=-200,
        ),
    ]
    got = values(rows, [])
    assert got["visits"] == 1
    assert got["spend"] == 800


def test_category_spend_follows_a_partial_refund_in_proportion() -> None:
    day = date(2026, 3, 3)
    rows = [
        FactRow(key="p1", ref="p1", kind=FactKind.PURCHASE, day=day, amount_minor=1000),
        FactRow(key="r1", ref="p1", kind=FactKind.PURCHASE, day=day, amount_minor=-500),
    ]
    items = [
        ItemFact(ref="p1", line=0, day=day, sku="croissant", category="pastry", amount_minor=600),
        ItemFact(ref="p1", line=1, day=day, sku="latte", category="drink", amount_minor=400),
    ]
    got = values(rows, items)
    assert got["pastry"] == 300  # half of the pastry line: half the purchase was refunded
    assert (got["tries"], got["kinds"]) == (2, 2)  # a partial refund keeps what was tried


def test_streaks_with_and_without_grace_days() -> None:
    days = [date(2026, 3, d) for d in (1, 2, 4, 5, 6, 9)]
    assert [run.length for run in streaks(days, 0)] == [2, 3, 1]
    assert [run.length for run in streaks(days, 1)] == [5, 1]
    assert [run.length for run in streaks(days, 2)] == [6]
    run = streaks(days, 1)[-1]
    assert run.ends_on(1) == date(2026, 3, 11)
    assert run.alive(date(2026, 3, 11), 1) and not run.alive(date(2026, 3, 12), 1)
    streak = CHALLENGES[5]
    facts = facts_of([FactRow(key=str(d), ref=str(d), kind=FactKind.CHECKIN, day=d) for d in days])
    assert progress_value(streak, MONTH, facts) == 5  # the longest run, grace 1
    latest = current_streak(streak, MONTH, facts)
    assert latest is not None and (latest.length, latest.last_day) == (1, date(2026, 3, 9))


def test_windows_are_local_weeks_months_and_fixed_dates() -> None:
    sunday, monday = date(2026, 3, 15), date(2026, 3, 16)
    week = window_on(WindowKind.WEEKLY, sunday)
    assert week is not None and (week.period, week.first_day) == ("2026-W11", date(2026, 3, 9))
    following = window_on(WindowKind.WEEKLY, monday)
    assert following is not None and following.period == "2026-W12"
    february = window_on(WindowKind.MONTHLY, date(2028, 2, 10))
    assert february is not None and february.last_day == date(2028, 2, 29)
    assert window_on(WindowKind.FIXED, date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 31))
    assert (
        window_on(WindowKind.FIXED, date(2027, 1, 1), date(2026, 12, 1), date(2026, 12, 31)) is None
    )
