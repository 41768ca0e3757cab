"""Challenges over a real database (SQLite and PostgreSQL): progress from purchases, check-ins
and actions, rewards once per period, refunds taking progress and rewards back, opt-in joins."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core.bus import MessageBus
from core.challenges import ChallengeTracker
from core.codes import new_member_code
from core.commands import RecordPurchase
from core.events import (
    CheckedIn,
    DomainEvent,
    PointsAwarded,
    PurchaseItem,
    PurchaseRecorded,
    PurchaseRefunded,
)
from core.model import Member, Role
from core.ports import UnitOfWork
from core.progress import target_of
from core.stores import store_code
from storage.database import SqlDatabase
from tests.storage.gamification_support import SECRET, game_program, who, world
from tests.storage.ledger_checks import LedgerChecker

WED = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # 10:00 in New York, week 2026-W10
DAY = timedelta(days=1)


def test_visits_streaks_and_a_completion_that_rewards_once(migrated_url: str) -> None:
    with world(migrated_url, at=WED) as w:
        sam, ann = w.staff(), w.join("ann")
        w.buy(ann, 12_00, by=sam.id)
        code = store_code(SECRET, "main-st", date(2026, 3, 4))
        moved = w.games.check_in(ann.id, code).changes
        assert moved == ()  # the day's visit was already counted by the purchase
        w.at(WED + DAY)
        moved = w.games.check_in(ann.id, store_code(SECRET, "main-st", date(2026, 3, 5))).changes
        assert {(c.challenge_id, c.value) for c in moved} == {
            ("three-visits", 2),
            ("streak", 2),
            ("lenient-streak", 2),
        }
        w.at(WED + 2 * DAY)
        w.buy(ann, 3_00, by=sam.id)  # the third day: both challenges done
        w.buy(ann, 4_00, by=sam.id)  # the same day again: nothing more to reward
        progress = w.progress(ann)
        assert progress[("three-visits", "2026-W10")] == 3
        assert progress[("streak", "2026-03")] == 3
        keys = w.journals(ann, "challenge:")
        assert sorted(keys) == sorted(
            [
                f"challenge:three-visits:{ann.id}:2026-W10:0",
                f"challenge:streak:{ann.id}:2026-03:0",
                f"challenge:lenient-streak:{ann.id}:2026-03:0",
            ]
        )
        assert [b.badge.name for b in w.games.badges(ann.id)] == ["On fire"]
        # A purchase recorded by staff tells the member; their own check-in did not.
        notes = w.outbox(ann)
        assert notes.count("notify.challenge_done_points") == 2
        assert notes.count("notify.challenge_done_both") == 1
        LedgerChecker(w.engine).check()


def test_a_refund_takes_progress_and_the_reward_back_and_a_new_visit_earns_it_again(
    migrated_url: str,
) -> None:
    with world(migrated_url, at=WED) as w:
        sam, ann = w.staff(), w.join("ann")
        receipts = []
        for day in range(3):
            w.at(WED + day * DAY)
            receipts.append(w.buy(ann, 10_00, by=sam.id))
        available = w.balance(ann)[0]
        w.refund(receipts[-1])  # the purchase that completed three visits
        progress = w.progress(ann)
        assert progress[("three-visits", "2026-W10")] == 2
        assert progress[("streak", "2026-03")] == 2
        assert w.journals(ann, "clawback:") and len(w.journals(ann, "clawback:")) == 3
        assert w.balance(ann)[0] == available - 50 - 30 - 10
        assert w.games.badges(ann.id) == []
        assert "notify.challenge_undone" in w.outbox(ann)
        w.at(WED + 4 * DAY)  # Sunday: another visit completes the week again
        w.buy(ann, 10_00, by=sam.id)
        assert w.progress(ann)[("three-visits", "2026-W10")] == 3
        keys = w.journals(ann, "challenge:three-visits")
        assert keys == [
            f"challenge:three-visits:{ann.id}:2026-W10:0",
            f"challenge:three-visits:{ann.id}:2026-W10:1",
        ]
        rewarded = w.rows(
            "SELECT completed_at IS NOT NULL, rewards, reward_journal_id IS NOT NULL"
            f" FROM challenge_progress WHERE member_id = {ann.id}"
            " AND challenge_id = 'three-visits'"
        )
        assert rewarded == [(True, 2, True)]  # net: one standing reward for the week
        LedgerChecker(w.engine).check()


def test_a_refund_after_the_week_closed_keeps_the_reward(migrated_url: str) -> None:
    with world(migrated_url, at=WED) as w:
        sam, ann = w.staff(), w.join("ann")
        receipts = []
        for day in range(3):
            w.at(WED + day * DAY)
            receipts.append(w.buy(ann, 10_00, by=sam.id))
        w.at(WED + 7 * DAY)  # the next Wednesday: week 10 is closed
        w.refund(receipts[-1])
        assert w.progress(ann)[("three-visits", "2026-W10")] == 2
        assert not any("three-visits" in k for k in w.journals(ann, "clawback:"))
        LedgerChecker(w.engine).check()


def test_opt_in_challenges_count_from_the_day_the_member_joins(migrated_url: str) -> None:
    with world(migrated_url, at=WED) as w:
        sam, ann = w.staff(), w.join("ann")
        w.buy(ann, 25_00, by=sam.id)
        board = {s.challenge.id: s for s in w.games.challenges(ann.id)}
        assert not board["spend-30"].joined and board["spend-30"].value == 0
        w.at(WED + DAY)
        joined = w.games.join(ann.id, "Spend $30")
        assert joined.joined_now and joined.status is not None and joined.status.value == 0
        assert not w.games.join(ann.id, "spend-30").joined_now  # twice: nothing changes
        w.buy(ann, 20_00, by=sam.id)
        w.buy(ann, 10_00, by=sam.id)
        board = {s.challenge.id: s for s in w.games.challenges(ann.id)}
        assert board["spend-30"].completed and board["spend-30"].value == 30_00
        assert w.journals(ann, "challenge:spend-30") == [f"challenge:spend-30:{ann.id}:2026-03:0"]
        LedgerChecker(w.engine).check()


def test_items_and_awarded_actions_count(migrated_url: str) -> None:
    with world(migrated_url, at=WED) as w:
        sam, ann = w.staff(), w.join("ann")
        receipt = w.buy(ann, 5_00, by=sam.id)
        w.award(ann, "review", receipt, by=sam.id)
        w.award(ann, "social_share", "shared", by=sam.id)
        assert w.progress(ann)[("reviews", "2026-03")] == 2
        items = (
            PurchaseItem(sku="croissant", category="Pastry", amount_minor=300),
            PurchaseItem(sku="latte", category="drink", amount_minor=400),
            PurchaseItem(sku="muffin", category="pastry", amount_minor=300),
        )
        # As the purchase API records a till's receipt: its store, channel and lines.
        w.loyalty.record_purchase(
            RecordPurchase(
                member_id=ann.id,
                receipt="API-1",
                amount_minor=10_00,
                store="main-st",
                channel="store",
                items=items,
            )
        )
        assert w.progress(ann)[("pastries", "2026-03")] == 2
        assert [b.badge.id for b in w.games.badges(ann.id)] == ["pastry"]
        LedgerChecker(w.engine).check()


def test_a_purchase_counts_on_the_day_it_was_made_and_imported_history_changes_nothing(
    migrated_url: str,
) -> None:
    with world(migrated_url, at=WED) as w:
        ann = w.join("ann")
        # A till posts Monday's receipt on Wednesday: Monday's visit, this week.
        monday = WED - 2 * DAY
        w.loyalty.record_purchase(
            RecordPurchase(member_id=ann.id, receipt="T-1", amount_minor=10_00, occurred_at=monday)
        )
        assert w.rows("SELECT day FROM challenge_fact WHERE member_id = :m", m=ann.id)[0][0] in (
            date(2026, 3, 2),
            "2026-03-02",
        )
        # Imported purchases of February (every window closed): no fact, no progress, no word.
        for n in range(3):
            w.loyalty.record_purchase(
                RecordPurchase(
                    member_id=ann.id,
                    receipt=f"OLD-{n}",
                    amount_minor=50_00,
                    quiet=True,
                    occurred_at=datetime(2026, 2, 10 + n, 15, 0, tzinfo=UTC),
                )
            )
        assert len(w.rows("SELECT 1 FROM challenge_fact WHERE member_id = :m", m=ann.id)) == 1
        assert not any(period.startswith("2026-02") for _, period in w.progress(ann))
        assert w.journals(ann, "challenge:") == []
        assert "notify.challenge_done_points" not in w.outbox(ann)


# -- the same events, in any order and however often: same progress, rewarded once -----------


_NAMES = itertools.count()


def _member(db: SqlDatabase, name: str) -> Member:
    identity = who(f"{name}{next(_NAMES)}")
    return db.run(lambda uow: uow.members.add(new_member_code(), identity, Role.MEMBER, WED, None))


# A week of activity as plain data: (kind, day of week 10, amount, pastries, refunded).
Spec = tuple[str, int, int, tuple[str, ...], int]
SPECS = st.lists(
    st.tuples(
        st.sampled_from(["purchase", "checkin", "review"]),
        st.integers(0, 6),
        st.integers(1_00, 20_00),
        st.lists(st.sampled_from(["croissant", "muffin", "scone"]), max_size=2).map(tuple),
        st.sampled_from([0, 1, 2]),  # refund: none, half, all
    ),
    min_size=1,
    max_size=7,
)


def week_of_events(specs: list[Spec], member_id: int) -> list[DomainEvent]:
    """Purchases (some with pastries), check-ins and reviews in week 10, then refunds of some
    purchases; the refunds come last here (the canonical order)."""
    events: list[DomainEvent] = []
    refunds: list[DomainEvent] = []
    for n, (what, day, amount, skus, refunded) in enumerate(specs):
        at = datetime(2026, 3, 2, 17, 0, tzinfo=UTC) + day * DAY
        if what == "checkin":
            events.append(
                CheckedIn(occurred_at=at, member_id=member_id, store_id="main-st", day=at.date())
            )
        elif what == "review":
            events.append(
                PointsAwarded(
                    occurred_at=at,
                    member_id=member_id,
                    journal_id=n + 1,
                    points=50,
                    reason="R",
                    action="review",
                )
            )
        else:
            items = tuple(PurchaseItem(sku=s, category="pastry", amount_minor=100) for s in skus)
            events.append(
                PurchaseRecorded(
                    occurred_at=at,
                    member_id=member_id,
                    journal_id=0,
                    receipt=f"{member_id}-{n}",
                    amount_minor=amount,
                    points=0,
                    tier="green",
                    items=items,
                )
            )
            if refunded:
                refunds.append(
                    PurchaseRefunded(
                        occurred_at=datetime(2026, 3, 8, 20, 0, tzinfo=UTC),
                        member_id=member_id,
                        journal_id=0,
                        purchase_journal_id=0,
                        receipt=f"{member_id}-{n}",
                        refund_id=f"{member_id}-{n}-r",
                        amount_minor=amount * refunded // 2,
                        points=0,
                    )
                )
    return events + refunds


def _shuffled(events: list[DomainEvent], rnd: random.Random, repeats: int) -> list[DomainEvent]:
    """Another order (a refund still after its purchase) with some events delivered twice."""
    order = list(events)
    rnd.shuffle(order)
    for refund in [e for e in order if isinstance(e, PurchaseRefunded)]:
        order.remove(refund)
        purchase = next(
            i
            for i, e in enumerate(order)
            if isinstance(e, PurchaseRecorded) and e.receipt == refund.receipt
        )
        order.insert(rnd.randint(purchase + 1, len(order)), refund)
    for _ in range(repeats):
        order.insert(rnd.randint(0, len(order)), rnd.choice(order))
    return order


def _outcome(db: SqlDatabase, member: Member) -> tuple[dict[tuple[str, str], int], int, set[str]]:
    """Progress, reward journals standing (given minus taken back) and badges of one member."""
    with db.engine.connect() as conn:
        progress = {
            (row[0], row[1]): int(row[2])
            for row in conn.execute(
                text(
                    "SELECT challenge_id, period, value FROM challenge_progress"
                    " WHERE member_id = :m"
                ),
                {"m": member.id},
            )
        }
        given_ = conn.execute(
            text("SELECT COUNT(*) FROM journal WHERE member_id = :m AND key LIKE 'challenge:%'"),
            {"m": member.id},
        ).scalar_one()
        taken = conn.execute(
            text("SELECT COUNT(*) FROM journal WHERE member_id = :m AND kind = 'clawback'"),
            {"m": member.id},
        ).scalar_one()
        badges = {
            row[0]
            for row in conn.execute(
                text("SELECT badge_id FROM badge WHERE member_id = :m"), {"m": member.id}
            )
        }
    return progress, int(given_) - int(taken), badges


def test_progress_and_rewards_do_not_depend_on_order_or_repetition(migrated_url: str) -> None:
    program = game_program()
    bus = MessageBus()
    ChallengeTracker(program).subscribe(bus)  # the challenges alone: events are synthetic here
    db = SqlDatabase.from_url(migrated_url, bus=bus)
    examples = 12 if db.engine.dialect.name == "sqlite" else 5

    def apply(event: DomainEvent) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.domain_events.record(event)

        db.run(work)

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(SPECS, st.randoms(use_true_random=False), st.integers(0, 4))
    def check(specs: list[Spec], rnd: random.Random, repeats: int) -> None:
        canonical, shuffled = _member(db, "canon"), _member(db, "shuffle")
        for event in week_of_events(specs, canonical.id):
            apply(event)
        for event in _shuffled(week_of_events(specs, shuffled.id), rnd, repeats):
            apply(event)
        progress, standing, badges = _outcome(db, canonical)
        assert _outcome(db, shuffled) == (progress, standing, badges)
        # Rewarded exactly once per completed period, however often it was won and lost.
        won = {
            key
            for key, value in progress.items()
            if (c := program.challenge(key[0])) is not None
            and c.points
            and value >= target_of(c, program.program.currency_decimals)
        }
        assert standing == len(won)

    try:
        check()
        LedgerChecker(db.engine).check()
    finally:
        db.dispose()
