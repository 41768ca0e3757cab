"""The core's use cases over a real database (SQLite and PostgreSQL): idempotency, races, refunds.

Every test ends with `LedgerChecker`, which re-checks all of docs/LEDGER.md's invariants by
reading the tables directly.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from core import errors
from core.commands import AwardPoints, RecordPurchase, RedeemReward, RefundPurchase
from core.loyalty import Loyalty
from core.program import Program
from storage.database import SqlDatabase
from tests.storage.ledger_checks import (
    T0,
    LedgerChecker,
    ManualClock,
    init_worker,
    make_program,
    person,
    redeem_task,
    snapshot,
)

PROCESS_TIMEOUT = 120
WORKERS = 6


class Shop:
    """A program, a clock and the façade over one database, with shortcuts for the tests."""

    def __init__(self, db: SqlDatabase, program: Program) -> None:
        self.db = db
        self.clock = ManualClock()
        self.app = Loyalty(db, program, self.clock)
        self.checker = LedgerChecker(db.engine)
        self.receipts = 0

    def member(self, name: str = "ann") -> int:
        return self.app.enroll(person(name)).member.id

    def earn(self, member_id: int, amount_minor: int, receipt: str | None = None) -> str:
        if receipt is None:
            self.receipts += 1
            receipt = f"R-{self.receipts}"
        self.app.record_purchase(
            RecordPurchase(member_id=member_id, receipt=receipt, amount_minor=amount_minor)
        )
        return receipt

    def balances(self, member_id: int) -> tuple[int, int, int]:
        """(available, pending, debt) as the ledger holds them (debt zero or negative)."""
        return self.checker.check().balances[member_id]

    def system(self, purpose: str) -> int:
        return self.checker.check().system.get(purpose, 0)

    def after_hold(self) -> None:
        self.clock.advance(timedelta(days=4))  # the hold ends with its third local day
        self.app.release_due()


def shop(db: SqlDatabase, policy: str = "debt", hold_days: int = 3, coffee_price: int = 30) -> Shop:
    """A shop on the test program without a sign-up bonus (so balances start at zero)."""
    program = make_program(policy, hold_days, coffee_price, signup=False)
    return Shop(db, program)


# -- idempotency ---------------------------------------------------------------------------------


def test_the_same_receipt_twice_earns_once(db: SqlDatabase) -> None:
    s = shop(db)
    ann = s.member()
    first = s.app.record_purchase(RecordPurchase(member_id=ann, receipt="R-1", amount_minor=45_50))
    before = snapshot(db.engine)
    again = s.app.record_purchase(RecordPurchase(member_id=ann, receipt="R-1", amount_minor=45_50))
    assert snapshot(db.engine) == before
    assert (first.points, first.duplicate) == (45, False)
    assert (again.points, again.duplicate, again.receipt) == (45, True, "R-1")
    assert s.balances(ann) == (0, 45, 0)


def test_the_same_receipt_with_another_amount_is_a_conflict(db: SqlDatabase) -> None:
    s = shop(db)
    ann, bob = s.member("ann"), s.member("bob")
    s.earn(ann, 45_50, "R-1")
    before = snapshot(db.engine)
    with pytest.raises(errors.IdempotencyConflict):
        s.app.record_purchase(RecordPurchase(member_id=ann, receipt="R-1", amount_minor=45_51))
    with pytest.raises(errors.IdempotencyConflict):  # the same receipt for someone else
        s.app.record_purchase(RecordPurchase(member_id=bob, receipt="R-1", amount_minor=45_50))
    assert snapshot(db.engine) == before


def test_a_double_confirmed_redemption_spends_once(db: SqlDatabase) -> None:
    s = shop(db)
    ann = s.member()
    s.app.award(AwardPoints(member_id=ann, key="gw-1", reason="welcome", points=100))
    first = s.app.redeem(RedeemReward(member_id=ann, reward_id="coffee", nonce="nonce-1"))
    before = snapshot(db.engine)
    again = s.app.redeem(RedeemReward(member_id=ann, reward_id="coffee", nonce="nonce-1"))
    assert snapshot(db.engine) == before
    assert (again.voucher, again.duplicate, again.balance_after) == (first.voucher, True, 70)
    assert not first.duplicate
    assert s.balances(ann) == (70, 0, 0)
    with pytest.raises(errors.IdempotencyConflict):  # the nonce was for another reward
        s.app.redeem(RedeemReward(member_id=ann, reward_id="cake", nonce="nonce-1"))
    assert snapshot(db.engine) == before


def test_pending_points_cannot_be_redeemed(db: SqlDatabase) -> None:
    s = shop(db)
    ann = s.member()
    s.earn(ann, 100_00)
    before = snapshot(db.engine)
    with pytest.raises(errors.InsufficientPoints):
        s.app.redeem(RedeemReward(member_id=ann, reward_id="coffee", nonce="n1"))
    assert snapshot(db.engine) == before
    s.clock.advance(timedelta(days=4))  # the hold is over: redeeming releases first
    assert (
        s.app.redeem(RedeemReward(member_id=ann, reward_id="coffee", nonce="n1")).balance_after
        == 70
    )
    assert s.balances(ann) == (70, 0, 0)


# -- concurrency ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workers() -> Iterator[ProcessPoolExecutor]:
    """Six spawned processes, shared by the race tests (spawning costs seconds)."""
    context = multiprocessing.get_context("spawn")
    barriers = (context.Barrier(WORKERS), context.Barrier(2))
    with ProcessPoolExecutor(
        WORKERS, mp_context=context, initializer=init_worker, initargs=barriers
    ) as pool:
        yield pool


def _race(
    pool: ProcessPoolExecutor, url: str, member_id: int, nonces_per_task: list[list[str]]
) -> list[list[tuple[str, str, bool]]]:
    """Run one task per nonce list, in as many processes, each attempt started together."""
    parties = len(nonces_per_task)
    futures = [
        pool.submit(redeem_task, url, member_id, nonces, "coffee", parties)
        for nonces in nonces_per_task
    ]
    return [future.result(timeout=PROCESS_TIMEOUT) for future in futures]


@pytest.fixture
def funded(migrated_url: str) -> Iterator[tuple[str, Shop, int]]:
    """A member with 2,000 available points and a 100-point coffee, on both engines."""
    db = SqlDatabase.from_url(migrated_url)
    try:
        s = shop(db, coffee_price=100)
        ann = s.member()
        for n in range(10):
            s.app.award(AwardPoints(member_id=ann, key=f"gw-{n}", reason="float", points=200))
        assert s.balances(ann) == (2000, 0, 0)
        yield migrated_url, s, ann
    finally:
        db.dispose()


def test_concurrent_redemptions_never_spend_more_than_the_balance(
    workers: ProcessPoolExecutor, funded: tuple[str, Shop, int]
) -> None:
    url, s, ann = funded
    attempts = 10
    outcomes = _race(
        workers, url, ann, [[f"w{w}-a{a}" for a in range(attempts)] for w in range(WORKERS)]
    )
    flat = [o for worker in outcomes for o in worker]
    assert len(flat) == WORKERS * attempts
    assert [o for o in flat if o[0] == "error"] == []
    vouchers = [voucher for kind, voucher, _ in flat if kind == "ok"]
    assert len(vouchers) * 100 <= 2000
    assert len(vouchers) == 20  # every refusal came once the balance was below 100
    assert len(set(vouchers)) == len(vouchers)
    assert s.balances(ann) == (2000 - 100 * len(vouchers), 0, 0)
    facts = s.checker.check()
    assert facts.system["redeemed"] == 100 * len(vouchers)
    with s.db.engine.connect() as conn:
        redeem_journals = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM journal WHERE kind = 'redeem'"
        ).scalar_one()
    assert redeem_journals == len(vouchers)


def test_a_double_tap_race_spends_once_and_both_get_the_voucher(
    workers: ProcessPoolExecutor, funded: tuple[str, Shop, int]
) -> None:
    url, s, ann = funded
    rounds = [f"tap-{n}" for n in range(5)]  # each round: both processes confirm one nonce
    first, second = _race(workers, url, ann, [rounds, rounds])
    for n, (a, b) in enumerate(zip(first, second, strict=True)):
        assert a[0] == b[0] == "ok", (rounds[n], a, b)
        assert a[1] == b[1], f"{rounds[n]}: two vouchers"
        assert sorted([a[2], b[2]]) == [False, True], f"{rounds[n]}: spent {a[2] + b[2]} times"
    assert s.balances(ann) == (2000 - 100 * len(rounds), 0, 0)
    s.checker.check()


# -- refunds -------------------------------------------------------------------------------------


def test_a_refund_inside_the_hold_voids_the_pending_lot(db: SqlDatabase) -> None:
    s = shop(db)
    ann = s.member()
    receipt = s.earn(ann, 50_00)
    s.clock.advance(timedelta(days=2))
    result = s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1"))
    assert (result.points, result.from_pending, result.from_available, result.shortfall) == (
        50, 50, 0, 0,
    )  # fmt: skip
    assert s.balances(ann) == (0, 0, 0)
    assert [(x.amount, x.remaining, x.state) for x in s.checker.check().lots] == [
        (50, 0, "pending")
    ]
    s.clock.advance(timedelta(days=2))
    release = s.app.release_due()
    assert (release.lots, release.points) == (0, 0)
    assert s.balances(ann) == (0, 0, 0)
    with pytest.raises(errors.NothingToRefund):
        s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-2"))


def test_a_refund_of_spent_points_becomes_a_debt_that_later_earnings_pay_first(
    db: SqlDatabase,
) -> None:
    s = shop(db, policy="debt")
    ann = s.member()
    receipt = s.earn(ann, 100_00)
    s.after_hold()
    s.app.redeem(
        RedeemReward(member_id=ann, reward_id="cake", nonce="n1")
    )  # 75 of the 100 points spent
    result = s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1"))
    assert (result.points, result.from_available, result.shortfall, result.policy) == (
        100, 25, 75, "debt",
    )  # fmt: skip
    assert s.balances(ann) == (0, 0, -75)
    assert s.app.balance(ann).debt == 75
    with pytest.raises(errors.InsufficientPoints):
        s.app.redeem(RedeemReward(member_id=ann, reward_id="coffee", nonce="n2"))
    paid = s.app.record_purchase(RecordPurchase(member_id=ann, receipt="R-2", amount_minor=50_00))
    assert (paid.points, paid.debt_paid) == (50, 50)
    assert s.balances(ann) == (0, 0, -25)
    paid = s.app.record_purchase(RecordPurchase(member_id=ann, receipt="R-3", amount_minor=40_00))
    assert (paid.points, paid.debt_paid) == (40, 25)
    assert s.balances(ann) == (0, 15, 0)
    award = s.app.award(AwardPoints(member_id=ann, key="gw", reason="sorry", points=10))
    assert award.debt_paid == 0
    assert s.balances(ann) == (10, 15, 0)
    assert s.system("adjustment") == 0


def test_a_refund_of_spent_points_is_written_off_under_that_policy(db: SqlDatabase) -> None:
    s = shop(db, policy="write_off")
    ann = s.member()
    receipt = s.earn(ann, 100_00)
    s.after_hold()
    s.app.redeem(RedeemReward(member_id=ann, reward_id="cake", nonce="n1"))
    result = s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1"))
    assert (result.points, result.from_available, result.shortfall, result.policy) == (
        100, 25, 75, "write_off",
    )  # fmt: skip
    assert s.balances(ann) == (0, 0, 0)
    assert s.system("adjustment") == -75  # never silently dropped
    assert -s.system("issued:purchase") == 0
    assert s.system("redeemed") == 75
    paid = s.app.record_purchase(RecordPurchase(member_id=ann, receipt="R-2", amount_minor=50_00))
    assert (paid.points, paid.debt_paid) == (50, 0)


def test_a_refund_claws_back_from_other_lots_first_expiring_first(db: SqlDatabase) -> None:
    s = shop(db, hold_days=0)
    ann = s.member()
    s.earn(ann, 20_00, "old")
    s.clock.advance(timedelta(days=1))
    receipt = s.earn(ann, 60_00)
    s.clock.advance(timedelta(days=1))
    s.earn(ann, 20_00, "new")
    s.app.redeem(
        RedeemReward(member_id=ann, reward_id="cake", nonce="n1")
    )  # 20 from "old", 55 from the refunded lot
    result = s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1"))
    assert (result.from_available, result.shortfall) == (25, 35)  # 5 own + 20 from "new"
    lots = s.checker.check().lots
    assert [(x.amount, x.remaining) for x in lots] == [(20, 0), (60, 0), (20, 0)]
    assert s.balances(ann) == (0, 0, -35)


@pytest.mark.parametrize(
    ("amount", "parts", "multiplier_spend"),
    [
        (10_00, [3_33, 3_33, 3_34], 0),
        (99_99, [33_33, 33_33, 33_33], 0),
        (7_77, [1, 1, 7_75], 0),
        (123_45, [1_00, 50_00, 72_45], 300_00),  # Gold tier: 1.5 points per EUR
        (45_67, [45_66, 1], 300_00),
    ],
)
def test_partial_refunds_give_back_exactly_the_purchase_points(
    db: SqlDatabase, amount: int, parts: list[int], multiplier_spend: int
) -> None:
    s = shop(db)
    ann = s.member()
    if multiplier_spend:
        s.earn(ann, multiplier_spend)
    receipt = s.earn(ann, amount)
    earned = s.app.record_purchase(
        RecordPurchase(member_id=ann, receipt=receipt, amount_minor=amount)
    ).points
    refunded = [
        s.app.refund(RefundPurchase(receipt=receipt, refund_id=f"F-{n}", amount_minor=part)).points
        for n, part in enumerate(parts)
    ]
    assert sum(refunded) == earned
    with pytest.raises(errors.NothingToRefund):
        s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-more", amount_minor=1))
    lots = s.checker.check().lots
    assert lots[-1].remaining == 0


def test_refunds_over_the_amount_are_refused_and_repeats_are_replayed(db: SqlDatabase) -> None:
    s = shop(db)
    ann = s.member()
    receipt = s.earn(ann, 40_00)
    before = snapshot(db.engine)
    for bad in (40_01, 0, -1):
        with pytest.raises(errors.InvalidAmount):
            s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1", amount_minor=bad))
    with pytest.raises(errors.ReceiptNotFound):
        s.app.refund(RefundPurchase(receipt="nope", refund_id="F-1"))
    assert snapshot(db.engine) == before
    first = s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1", amount_minor=10_00))
    after = snapshot(db.engine)
    again = s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1", amount_minor=10_00))
    assert (again.points, again.duplicate) == (first.points, True) == (10, True)
    with pytest.raises(errors.IdempotencyConflict):
        s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1", amount_minor=11_00))
    with pytest.raises(errors.InvalidAmount):
        s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-2", amount_minor=30_01))
    assert snapshot(db.engine) == after


def test_earn_then_full_refund_with_nothing_spent_restores_the_member(db: SqlDatabase) -> None:
    s = shop(db, hold_days=0)
    ann = s.member()
    s.app.award(AwardPoints(member_id=ann, key="gw", reason="float", points=30))
    before = s.balances(ann)
    receipt = s.earn(ann, 88_88)
    s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1"))
    assert s.balances(ann) == before
    assert -s.system("issued:purchase") == 0


# -- expiry --------------------------------------------------------------------------------------


def test_lots_expire_at_the_end_of_the_day_in_the_program_zone(db: SqlDatabase) -> None:
    s = shop(db)  # Europe/Berlin; summer time starts on 2026-03-29
    ann = s.member()
    s.clock.at = datetime(2026, 3, 20, 23, 30, tzinfo=UTC)  # already 21 March in Berlin
    s.app.award(AwardPoints(member_id=ann, key="gw-1", reason="late", points=40))
    (lot,) = s.checker.check().lots
    # 21 March + 10 days = 31 March, whose day ends at midnight CEST = 22:00 UTC.
    end = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert lot.expires_at == end - timedelta(microseconds=1)
    s.clock.at = end - timedelta(microseconds=2)
    assert (s.app.expire_due().points, s.balances(ann)) == (0, (40, 0, 0))
    s.clock.at = end - timedelta(microseconds=1)
    first = s.app.expire_due()
    assert (first.lots, first.points) == (1, 40)
    s.checker.check(now=s.clock.now())
    before = snapshot(db.engine)
    again = s.app.expire_due()
    assert (again.lots, again.points) == (0, 0)
    assert snapshot(db.engine) == before
    assert s.balances(ann) == (0, 0, 0)
    assert s.system("expired") == 40


def test_expiry_takes_only_what_is_left_and_never_pending_points(db: SqlDatabase) -> None:
    s = shop(db)
    ann = s.member()
    start = T0
    s.app.award(AwardPoints(member_id=ann, key="gw-1", reason="a", points=50))
    s.app.redeem(RedeemReward(member_id=ann, reward_id="coffee", nonce="n1"))  # 30 of the 50
    s.clock.advance(timedelta(days=9))
    s.earn(ann, 20_00)  # pending until day 12, expires on day 19
    s.clock.at = start + timedelta(days=11)
    result = s.app.expire_due()
    assert (result.lots, result.points) == (1, 20)
    assert s.balances(ann) == (0, 20, 0)
    s.checker.check(now=s.clock.now())


def test_refunding_a_purchase_whose_points_expired_takes_nothing_more(db: SqlDatabase) -> None:
    s = shop(db, hold_days=0)
    ann = s.member()
    receipt = s.earn(ann, 100_00)
    s.clock.advance(timedelta(days=11))
    assert s.app.expire_due().points == 100  # the member has lost these points already
    s.earn(ann, 50_00)  # a later purchase, which is not refunded
    result = s.app.refund(RefundPurchase(receipt=receipt, refund_id="F-1"))
    assert (result.points, result.from_available, result.shortfall) == (100, 0, 0)
    assert s.balances(ann) == (50, 0, 0)
    assert s.system("expired") == 0  # the expiry is undone along with the issuance
