"""The ledger against a pure-Python model: random command sequences through the real façade.

`Loyalty` runs over a real `SqlDatabase` (SQLite and PostgreSQL) with a hand-moved clock;
after every step `LedgerChecker` reads the tables directly and checks every invariant of
docs/LEDGER.md, and the model's balances, lots and totals must match the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core import errors
from core.commands import AwardPoints, RecordPurchase, RedeemReward, RefundPurchase
from core.loyalty import Loyalty
from tests.storage.fixtures import ENGINES
from tests.storage.ledger_checks import (
    DatabasePool,
    LedgerChecker,
    ManualClock,
    database_pool,
    make_program,
    person,
    snapshot,
)

ZONE = ZoneInfo("Europe/Berlin")
LIFETIME_DAYS = 10
PRICES = {"coffee": 30, "cake": 75}
LIMITS = {"cake": 3}
SIGNUP = 10
GOLD_THRESHOLD_MINOR = 300_00
WINDOW = timedelta(days=365)
MAX_PURCHASE_MINOR = 1000_00
MAX_AWARD = 200


# -- the model -----------------------------------------------------------------------------------


@dataclass
class MLot:
    seq: int
    member: int
    amount: int
    remaining: int
    state: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime
    expired: int = 0  # points that expired out of this lot
    excused: int = 0  # of those, how many refunds have already accounted for


@dataclass
class MPurchase:
    receipt: str
    member: int
    amount: int
    points: int
    lot: MLot | None
    at: datetime
    refunded_minor: int = 0
    refunded_points: int = 0


@dataclass
class MMember:
    id: int
    available: int = 0
    pending: int = 0
    debt: int = 0  # zero or negative, like the debt account
    redeemed: Counter[str] = field(default_factory=Counter)

    @property
    def balances(self) -> tuple[int, int, int]:
        return self.available, self.pending, self.debt


@dataclass(frozen=True)
class RefundOutcome:
    points: int
    from_pending: int
    from_available: int
    shortfall: int


def end_of_day(moment: datetime, plus_days: int) -> datetime:
    """The last microsecond of the local day `plus_days` after `moment`, in the program zone."""
    day = moment.astimezone(ZONE).date() + timedelta(days=plus_days + 1)
    return datetime.combine(day, time(0), tzinfo=ZONE) - timedelta(microseconds=1)


class Model:
    """What the ledger should hold, computed without the core."""

    def __init__(self, policy: str, hold_days: int) -> None:
        self.policy = policy
        self.hold = timedelta(days=hold_days)
        self.members: dict[int, MMember] = {}
        self.lots: list[MLot] = []
        self.purchases: dict[str, MPurchase] = {}
        self.issued: Counter[str] = Counter()
        self.clawed = 0
        self.redeemed = 0
        self.expired = 0
        self.written_off = 0

    @property
    def outstanding(self) -> int:
        return sum(sum(m.balances) for m in self.members.values())

    def _issue(
        self, member: MMember, points: int, now: datetime, hold: timedelta
    ) -> tuple[int, MLot | None]:
        debt_paid = min(points, -member.debt)
        member.debt += debt_paid
        rest = points - debt_paid
        if not rest:
            return debt_paid, None
        pending = hold > timedelta(0)
        # Held points become available at the end of the return window's last local day.
        release = end_of_day(now, hold.days) if pending else now
        lot = MLot(len(self.lots), member.id, rest, rest, "pending" if pending else "available",
                   now, release, end_of_day(now, LIFETIME_DAYS))  # fmt: skip
        self.lots.append(lot)
        if pending:
            member.pending += rest
        else:
            member.available += rest
        return debt_paid, lot

    def add_member(self, member_id: int, now: datetime) -> None:
        member = self.members[member_id] = MMember(member_id)
        self.issued["action"] += SIGNUP
        self._issue(member, SIGNUP, now, timedelta(0))

    def award(self, member_id: int, points: int, now: datetime) -> int:
        self.issued["goodwill"] += points
        return self._issue(self.members[member_id], points, now, timedelta(0))[0]

    def earn(self, member_id: int, receipt: str, amount: int, now: datetime) -> tuple[int, int]:
        spend = sum(
            p.amount - p.refunded_minor
            for p in self.purchases.values()
            if p.member == member_id and p.at >= now - WINDOW
        )
        points = amount * 3 // 200 if spend >= GOLD_THRESHOLD_MINOR else amount // 100
        debt_paid, lot = 0, None
        if points:
            self.issued["purchase"] += points
            debt_paid, lot = self._issue(self.members[member_id], points, now, self.hold)
        self.purchases[receipt] = MPurchase(receipt, member_id, amount, points, lot, now)
        return points, debt_paid

    def _due(self, member_id: int | None, now: datetime) -> list[MLot]:
        return [
            lot
            for lot in self.lots
            if lot.state == "pending" and lot.remaining and lot.available_at <= now
            and (member_id is None or lot.member == member_id)
        ]  # fmt: skip

    def release(self, member_id: int | None, now: datetime) -> tuple[int, int]:
        due = self._due(member_id, now)
        for lot in due:
            lot.state = "available"
            member = self.members[lot.member]
            member.pending -= lot.remaining
            member.available += lot.remaining
        return len(due), sum(lot.remaining for lot in due)

    def expire(self, now: datetime) -> tuple[int, int]:
        due = [
            x for x in self.lots if x.state == "available" and x.remaining and x.expires_at <= now
        ]
        points = sum(lot.remaining for lot in due)
        for lot in due:
            self.members[lot.member].available -= lot.remaining
            lot.expired += lot.remaining
            lot.remaining = 0
        self.expired += points
        return len(due), points

    def _fefo(self, member_id: int, amount: int, skip: MLot | None = None) -> None:
        lots = sorted(
            (x for x in self.lots if x.member == member_id and x.state == "available"
             and x.remaining and x is not skip),
            key=lambda x: (x.expires_at, x.seq),
        )  # fmt: skip
        for lot in lots:
            take = min(amount, lot.remaining)
            lot.remaining -= take
            amount -= take
            if not amount:
                return
        raise AssertionError("model: lots do not cover the balance")

    def redeem_error(self, member_id: int, reward: str, now: datetime) -> type[Exception] | None:
        member = self.members[member_id]
        releasable = sum(lot.remaining for lot in self._due(member_id, now))
        if member.available + releasable < PRICES[reward]:
            return errors.InsufficientPoints
        if reward in LIMITS and member.redeemed[reward] >= LIMITS[reward]:
            return errors.LimitReached
        return None

    def redeem(self, member_id: int, reward: str, now: datetime) -> int:
        self.release(member_id, now)
        member = self.members[member_id]
        price = PRICES[reward]
        member.available -= price
        member.redeemed[reward] += 1
        self.redeemed += price
        self._fefo(member_id, price)
        return member.available

    def refund_error(self, receipt: str, amount: int | None) -> type[Exception] | None:
        purchase = self.purchases.get(receipt)
        if purchase is None:
            return errors.ReceiptNotFound
        refundable = purchase.amount - purchase.refunded_minor
        if refundable <= 0:
            return errors.NothingToRefund
        if amount is not None and not 0 < amount <= refundable:
            return errors.InvalidAmount
        return None

    def refund(self, receipt: str, amount: int | None) -> RefundOutcome:
        p = self.purchases[receipt]
        amount = p.amount - p.refunded_minor if amount is None else amount
        points = p.points * (p.refunded_minor + amount) // p.amount - p.refunded_points
        member = self.members[p.member]
        from_pending = from_available = excused = 0
        if points and p.lot is not None:
            take = min(points, p.lot.remaining)
            p.lot.remaining -= take
            if p.lot.state == "pending":
                from_pending = take
            else:
                from_available = take
            # Points of this purchase that already expired are not taken a second time.
            excused = min(points - take, p.lot.expired - p.lot.excused)
            p.lot.excused += excused
            self.expired -= excused
        extra = min(points - from_pending - from_available - excused,
                    member.available - from_available)  # fmt: skip
        if extra > 0:
            self._fefo(member.id, extra, skip=p.lot)
            from_available += extra
        shortfall = points - from_pending - from_available - excused
        member.available -= from_available
        member.pending -= from_pending
        if shortfall and self.policy == "debt":
            member.debt -= shortfall
        else:
            self.written_off += shortfall
        self.clawed += points
        p.refunded_minor += amount
        p.refunded_points += points
        return RefundOutcome(points, from_pending, from_available, shortfall)


# -- the machine ---------------------------------------------------------------------------------

indexes = st.integers(min_value=0, max_value=10_000)
# Mostly small purchases (so that points get spent and refunds fall short), some large
# enough to reach the Gold tier.
amounts = st.one_of(
    st.integers(min_value=1, max_value=120_00),
    st.integers(min_value=1, max_value=120_00),
    st.integers(min_value=120_00, max_value=400_00),
)
refund_kinds = st.sampled_from(["full", "full", "rest", "part", "part", "over", "zero", "unknown"])
times = st.sampled_from([1, 1, 2, 3, 50])  # 50: until the balance runs out
hours = st.one_of(st.integers(1, 30), st.integers(24, 24 * 6), st.just(24 * 11))


class LedgerMachine(RuleBasedStateMachine):
    """Drives `Loyalty` and the model side by side; a subclass supplies `pool`."""

    pool: ClassVar[DatabasePool]

    def __init__(self) -> None:
        super().__init__()
        self._database = self.pool.database()
        self.db = self._database.__enter__()
        self.clock = ManualClock()
        self.checker = LedgerChecker(self.db.engine)
        self.model: Model | None = None
        self.loyalty: Loyalty | None = None
        self.people = 0
        self.nonces = 0
        self.receipts = 0
        self.award_keys: dict[str, tuple[int, int]] = {}
        self.vouchers: dict[str, tuple[int, str, str]] = {}  # nonce -> member, reward, voucher
        self.refunds: dict[str, tuple[str, int | None, RefundOutcome]] = {}

    def teardown(self) -> None:
        self._database.__exit__(None, None, None)

    # helpers

    @property
    def m(self) -> Model:
        assert self.model is not None
        return self.model

    @property
    def app(self) -> Loyalty:
        assert self.loyalty is not None
        return self.loyalty

    def member(self, i: int) -> int:
        ids = sorted(self.m.members)
        return ids[i % len(ids)]

    def receipt(self, i: int, open_only: bool = False) -> str:
        receipts = sorted(self.m.purchases)
        if open_only:
            receipts = [
                r for r in receipts
                if self.m.purchases[r].refunded_minor < self.m.purchases[r].amount
            ] or receipts  # fmt: skip
        return receipts[i % len(receipts)]

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """4./5. The block writes nothing to the ledger tables."""
        before = snapshot(self.db.engine)
        yield
        assert snapshot(self.db.engine) == before, "a rejected or repeated command wrote rows"

    def has_members(self) -> bool:
        return self.model is not None and bool(self.m.members)

    def has_purchases(self) -> bool:
        return self.model is not None and bool(self.m.purchases)

    # set-up

    @initialize(
        policy=st.sampled_from(["debt", "write_off"]),
        hold_days=st.sampled_from([3, 3, 0]),
        members=st.integers(1, 3),
    )
    def start(self, policy: str, hold_days: int, members: int) -> None:
        program = make_program(policy=policy, hold_days=hold_days)
        self.model = Model(policy, hold_days)
        self.loyalty = Loyalty(self.db, program, self.clock)
        for _ in range(members):
            self.enroll()

    # rules

    @precondition(lambda self: self.model is not None and self.people < 4)
    @rule()
    def enroll(self) -> None:
        self.people += 1
        result = self.app.enroll(person(self.people))
        assert result.created and result.bonus == SIGNUP
        self.m.add_member(result.member.id, self.clock.now())

    def enroll_again(self, i: int) -> None:
        with self.unchanged():
            result = self.app.enroll(person(i % self.people + 1))
        assert not result.created and result.bonus == 0

    @precondition(has_members)
    @rule(i=indexes, amount=amounts)
    def earn(self, i: int, amount: int) -> None:
        member_id = self.member(i)
        self.receipts += 1
        receipt = f"R-{self.receipts}"
        result = self.app.record_purchase(
            RecordPurchase(member_id=member_id, receipt=receipt, amount_minor=amount)
        )
        points, debt_paid = self.m.earn(member_id, receipt, amount, self.clock.now())
        assert (result.points, result.debt_paid, result.duplicate) == (points, debt_paid, False)
        event(f"earn: debt paid {bool(debt_paid)}")

    def earn_same_receipt(self, j: int, change: int) -> None:
        purchase = self.m.purchases[self.receipt(j)]
        command = RecordPurchase(
            member_id=purchase.member,
            receipt=purchase.receipt,
            amount_minor=purchase.amount + change,
        )
        with self.unchanged():
            if change == 0:
                result = self.app.record_purchase(command)
                assert result.duplicate and result.points == purchase.points
            elif command.amount_minor <= 0:
                with pytest.raises((errors.IdempotencyConflict, errors.InvalidAmount)):
                    self.app.record_purchase(command)
            else:
                with pytest.raises(errors.IdempotencyConflict):
                    self.app.record_purchase(command)

    def earn_invalid_amount(self, i: int, amount: int) -> None:
        self.receipts += 1
        with self.unchanged(), pytest.raises(errors.InvalidAmount):
            self.app.record_purchase(
                RecordPurchase(
                    member_id=self.member(i), receipt=f"R-{self.receipts}", amount_minor=amount
                )
            )

    @precondition(has_members)
    @rule(i=indexes, points=st.integers(min_value=1, max_value=MAX_AWARD))
    def award(self, i: int, points: int) -> None:
        member_id = self.member(i)
        key = f"goodwill:{len(self.award_keys)}"
        result = self.app.award(
            AwardPoints(member_id=member_id, key=key, reason="sorry", points=points)
        )
        debt_paid = self.m.award(member_id, points, self.clock.now())
        assert (result.points, result.debt_paid, result.duplicate) == (points, debt_paid, False)
        self.award_keys[key] = (member_id, points)

    def award_again(self, k: int) -> None:
        key = sorted(self.award_keys)[k % len(self.award_keys)]
        member_id, points = self.award_keys[key]
        with self.unchanged():
            result = self.app.award(
                AwardPoints(member_id=member_id, key=key, reason="sorry", points=points)
            )
            assert result.duplicate
            with pytest.raises(errors.IdempotencyConflict):
                other = points - 1 if points > 1 else 2
                self.app.award(
                    AwardPoints(member_id=member_id, key=key, reason="sorry", points=other)
                )

    def award_invalid(self, i: int, points: int) -> None:
        with self.unchanged(), pytest.raises(errors.InvalidAmount):
            self.app.award(
                AwardPoints(member_id=self.member(i), key="goodwill:bad", reason="x", points=points)
            )

    @precondition(has_members)
    @rule(i=indexes, reward=st.sampled_from(sorted(PRICES)), times=times)
    def redeem(self, i: int, reward: str, times: int) -> None:
        for _ in range(times):
            if not self._redeem_once(self.member(i), reward):
                return

    def _redeem_until_refused(self, member_id: int, reward: str) -> None:
        while self._redeem_once(member_id, reward):
            pass

    def _redeem_once(self, member_id: int, reward: str) -> bool:
        self.nonces += 1
        nonce = f"nonce-{self.nonces}"
        command = RedeemReward(member_id=member_id, reward_id=reward, nonce=nonce)
        expected_error = self.m.redeem_error(member_id, reward, self.clock.now())
        if expected_error is not None:
            # 9. Pending points cannot be redeemed (the model only counts available ones).
            pending = self.m.members[member_id].pending > 0
            event(f"redeem refused: {expected_error.__name__}, pending points {pending}")
            with self.unchanged(), pytest.raises(expected_error):
                self.app.redeem(command)
            return False
        result = self.app.redeem(command)
        available = self.m.redeem(member_id, reward, self.clock.now())
        assert not result.duplicate and result.points == PRICES[reward]
        assert result.balance_after == available
        assert result.voucher not in {v for _, _, v in self.vouchers.values()}
        self.vouchers[nonce] = (member_id, reward, result.voucher)
        event(f"redeemed {reward}")
        return True

    def redeem_again(self, k: int, same_reward: bool) -> None:
        nonce = sorted(self.vouchers)[k % len(self.vouchers)]
        member_id, reward, voucher = self.vouchers[nonce]
        other = reward if same_reward else next(r for r in PRICES if r != reward)
        with self.unchanged():
            if same_reward:
                result = self.app.redeem(
                    RedeemReward(member_id=member_id, reward_id=other, nonce=nonce)
                )
                assert result.duplicate and result.voucher == voucher
                assert result.balance_after == self.m.members[member_id].available
            else:
                with pytest.raises(errors.IdempotencyConflict):
                    self.app.redeem(RedeemReward(member_id=member_id, reward_id=other, nonce=nonce))

    @precondition(has_purchases)
    @rule(j=indexes, how=refund_kinds, part=st.integers(min_value=1, max_value=40_000))
    def refund(self, j: int, how: str, part: int, open_only: bool = False) -> None:
        self._refund(self.receipt(j, open_only), how, part)

    def _refund(self, receipt: str, how: str, part: int) -> None:
        purchase = self.m.purchases[receipt]
        receipt = "no-such-receipt" if how == "unknown" else purchase.receipt
        refundable = purchase.amount - purchase.refunded_minor
        amount: int | None = {
            "full": None,
            "rest": refundable,
            "part": max(1, min(part, refundable - 1)) if refundable > 1 else part,
            "over": refundable + 1 + part % 100,
            "zero": 0,
            "unknown": None,
        }[how]
        refund_id = f"F-{len(self.refunds)}"
        command = RefundPurchase(receipt=receipt, refund_id=refund_id, amount_minor=amount)
        expected_error = self.m.refund_error(receipt, amount)
        if expected_error is not None:
            event(f"refund refused: {expected_error.__name__}")
            with self.unchanged(), pytest.raises(expected_error):
                self.app.refund(command)
            return
        lot = purchase.lot
        if purchase.refunded_minor:
            event("refund of a partly refunded purchase")
        event(f"refund from {'no lot' if lot is None else lot.state} lot, policy {self.m.policy}")
        result = self.app.refund(command)
        outcome = self.m.refund(receipt, amount)
        got = RefundOutcome(result.points, result.from_pending, result.from_available,
                            result.shortfall)  # fmt: skip
        assert got == outcome
        assert not result.duplicate
        if outcome.shortfall:
            event(f"refund shortfall under {self.m.policy}")
        self.refunds[refund_id] = (receipt, amount, outcome)

    def refund_again(self, k: int, same: bool) -> None:
        refund_id = sorted(self.refunds)[k % len(self.refunds)]
        receipt, amount, outcome = self.refunds[refund_id]
        with self.unchanged():
            if same:
                result = self.app.refund(
                    RefundPurchase(receipt=receipt, refund_id=refund_id, amount_minor=amount)
                )
                assert result.duplicate and result.points == outcome.points
            else:
                other = 1 if amount is None else amount + 1
                with pytest.raises(errors.IdempotencyConflict):
                    self.app.refund(
                        RefundPurchase(receipt=receipt, refund_id=refund_id, amount_minor=other)
                    )

    @precondition(has_members)
    @rule(i=indexes, amount=amounts)
    def earn_then_refund_in_full(self, i: int, amount: int) -> None:
        """10. Earn then full refund with nothing spent leaves the member as before."""
        member_id = self.member(i)
        before = self.m.members[member_id].balances
        self.receipts += 1
        receipt = f"R-{self.receipts}"
        earned = self.app.record_purchase(
            RecordPurchase(member_id=member_id, receipt=receipt, amount_minor=amount)
        )
        self.m.earn(member_id, receipt, amount, self.clock.now())
        refund_id = f"F-{len(self.refunds)}"
        result = self.app.refund(RefundPurchase(receipt=receipt, refund_id=refund_id))
        outcome = self.m.refund(receipt, None)
        self.refunds[refund_id] = (receipt, None, outcome)
        assert result.points == earned.points
        after = self.checker.check().balances[member_id]
        if earned.debt_paid == 0:
            assert after == before
        else:  # the points that paid a debt come back as debt or from the balance
            assert sum(after) == sum(before)

    @precondition(lambda self: self.model is not None)
    @rule(hours=hours)
    def advance(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @precondition(lambda self: self.model is not None)
    @rule()
    def release_due(self) -> None:
        result = self.app.release_due()
        assert (result.lots, result.points) == self.m.release(None, self.clock.now())

    @precondition(lambda self: self.model is not None)
    @rule()
    def expire_due(self) -> None:
        now = self.clock.now()
        result = self.app.expire_due()
        assert (result.lots, result.points) == self.m.expire(now)
        self.checker.check(now=now)  # 8. nothing due is left...
        with self.unchanged():  # ... and a second run changes nothing
            again = self.app.expire_due()
        assert (again.lots, again.points) == (0, 0)

    @precondition(has_members)
    @rule(i=indexes)
    def balance(self, i: int) -> None:
        member_id = self.member(i)
        summary = self.app.balance(member_id)
        self.m.release(member_id, self.clock.now())
        member = self.m.members[member_id]
        assert (summary.available, summary.pending, -summary.debt) == member.balances

    # Repeated and invalid commands, one rule each so that they do not crowd out the rest.

    @precondition(has_members)
    @rule(
        kind=st.sampled_from(["enroll", "earn", "award", "redeem", "refund"]),
        k=indexes,
        flag=st.booleans(),
        change=st.sampled_from([0, 0, 1, -1, 100]),
    )
    def repeat_command(self, kind: str, k: int, flag: bool, change: int) -> None:
        """4. Same key and request: the original result; another request: a conflict."""
        if kind == "enroll":
            self.enroll_again(k)
        elif kind == "earn" and self.m.purchases:
            self.earn_same_receipt(k, change)
        elif kind == "award" and self.award_keys:
            self.award_again(k)
        elif kind == "redeem" and self.vouchers:
            self.redeem_again(k, flag)
        elif kind == "refund" and self.refunds:
            self.refund_again(k, flag)

    @precondition(has_members)
    @rule(
        i=indexes,
        purchase=st.sampled_from([0, -5, MAX_PURCHASE_MINOR + 1]),
        points=st.sampled_from([0, -1, MAX_AWARD + 1]),
    )
    def invalid_commands(self, i: int, purchase: int, points: int) -> None:
        """5. Rejected commands leave no journal, posting or lot behind."""
        self.earn_invalid_amount(i, purchase)
        self.award_invalid(i, points)

    @precondition(has_members)
    @rule(
        i=indexes,
        amount=st.integers(min_value=30_00, max_value=150_00),
        how=st.sampled_from(["full", "part"]),
        part=st.integers(min_value=1, max_value=150_00),
    )
    def spend_then_refund(self, i: int, amount: int, how: str, part: int) -> None:
        """A refund after the points were spent: the policy decides (debt or write-off)."""
        member_id = self.member(i)
        self.earn(i, amount)
        receipt = f"R-{self.receipts}"
        self.advance(int(self.m.hold.total_seconds() // 3600) + 25)  # past that day's end
        self.release_due()
        self._redeem_until_refused(member_id, "coffee")
        self._refund(receipt, how, part)

    @precondition(has_members)
    @rule(
        i=indexes,
        amount=st.integers(min_value=30_00, max_value=150_00),
        spend=st.integers(0, 3),
        cuts=st.lists(st.integers(1, 10_000), max_size=2),
    )
    def expire_then_refund(self, i: int, amount: int, spend: int, cuts: list[int]) -> None:
        """A refund after the purchase's points expired takes nothing the member lost already."""
        self.earn(i, amount)
        receipt = f"R-{self.receipts}"
        self.advance(int(self.m.hold.total_seconds() // 3600) + 25)  # past that day's end
        self.release_due()
        self.redeem(i, "coffee", spend)
        self.advance(24 * (LIFETIME_DAYS + 1))
        self.release_due()
        self.expire_due()
        expired_before = self.m.expired
        purchase = self.m.purchases[receipt]
        for cut in [*cuts, None]:
            if purchase.refunded_minor >= purchase.amount:
                break
            self._refund(receipt, "full" if cut is None else "part", cut or 0)
        if self.m.expired < expired_before:
            event("refund gave back expired points")

    @precondition(has_purchases)
    @rule(j=indexes, cuts=st.lists(st.integers(1, 10_000), min_size=1, max_size=4))
    def refund_in_parts(self, j: int, cuts: list[int]) -> None:
        """Partial refunds of one purchase give back exactly its points, no more, no less."""
        purchase = self.m.purchases[self.receipt(j, open_only=True)]
        for cut in [*cuts, None]:
            refundable = purchase.amount - purchase.refunded_minor
            if refundable <= 0:
                break
            self._refund(purchase.receipt, "full" if cut is None else "part", cut or 0)
        assert purchase.refunded_minor == purchase.amount
        assert purchase.refunded_points == purchase.points
        refunded = sum(o.points for r, _, o in self.refunds.values() if r == purchase.receipt)
        assert refunded == purchase.points

    # The main flows get a second rule each, so that they make up most steps.

    @precondition(has_members)
    @rule(i=indexes, amount=amounts)
    def earn_more(self, i: int, amount: int) -> None:
        self.earn(i, amount)

    @precondition(has_members)
    @rule(i=indexes, reward=st.sampled_from(sorted(PRICES)), times=times)
    def redeem_more(self, i: int, reward: str, times: int) -> None:
        self.redeem(i, reward, times)

    @precondition(has_purchases)
    @rule(j=indexes, how=refund_kinds, part=st.integers(min_value=1, max_value=40_000))
    def refund_more(self, j: int, how: str, part: int) -> None:
        self.refund(j, how, part, open_only=True)

    @precondition(lambda self: self.model is not None)
    @rule(hours=hours)
    def advance_more(self, hours: int) -> None:
        self.advance(hours)

    # after every step

    @precondition(lambda self: self.model is not None)
    @invariant()
    def ledger_matches_model(self) -> None:
        facts = self.checker.check()
        model = self.m
        assert facts.balances == {m.id: m.balances for m in model.members.values()}
        db_lots = [(x.member_id, x.amount, x.remaining, x.state, x.available_at, x.expires_at)
                   for x in facts.lots]  # fmt: skip
        model_lots = [(x.member, x.amount, x.remaining, x.state, x.available_at, x.expires_at)
                      for x in model.lots]  # fmt: skip
        assert db_lots == model_lots
        system = facts.system
        assert -system.get("issued:purchase", 0) == model.issued["purchase"] - model.clawed
        assert -system.get("issued:action", 0) == model.issued["action"]
        assert -system.get("issued:goodwill", 0) == model.issued["goodwill"]
        assert system.get("redeemed", 0) == model.redeemed
        assert system.get("expired", 0) == model.expired
        assert system.get("adjustment", 0) == -model.written_off
        # 12. Issued - redeemed - expired - clawed back (+ written off) = outstanding.
        issued = sum(model.issued.values())
        assert issued - model.redeemed - model.expired - model.clawed + model.written_off == (
            model.outstanding
        )
        assert facts.outstanding == model.outstanding


EXAMPLES = {"sqlite": 40, "postgresql": 10}


@pytest.mark.parametrize("engine", ENGINES)
def test_ledger_matches_model(engine: str, tmp_path: Path) -> None:
    with database_pool(engine, tmp_path) as pool:
        machine = type(f"LedgerMachine_{engine}", (LedgerMachine,), {"pool": pool})
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES[engine],
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
