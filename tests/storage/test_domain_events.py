"""Domain events and their handlers over a real database (SQLite and PostgreSQL): handlers run
inside the transaction, a failing one rolls everything back, a retry runs them afresh."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import pytest

from bot.bootstrap import message_bus
from bot.settings import EXAMPLE_PROGRAM  # the shipped coffee program: hold, expiry, kudos
from core import categories
from core.bus import MessageBus
from core.commands import AwardPoints, RecordPurchase, RedeemReward, RefundPurchase
from core.events import (
    DomainEvent,
    GiftGiven,
    GiftRevoked,
    MemberEnrolled,
    PointsAwarded,
    PointsExpired,
    PointsRedeemed,
    PointsReleased,
    PurchaseRecorded,
    PurchaseRefunded,
    RoleChanged,
)
from core.kudos import Kudos
from core.loyalty import Loyalty
from core.model import Role
from core.outbox import OutboxMessage, Recipient
from core.ports import UnitOfWork
from core.program import load_program
from core.recognition import GiveKudos
from storage.database import SqlDatabase
from storage.errors import ConcurrentUpdate
from storage.sql import Sql
from tests.storage.ledger_checks import LedgerChecker, ManualClock, person, snapshot

T = TypeVar("T")
PROGRAM = load_program(EXAMPLE_PROGRAM)


def database(url: str, bus: MessageBus) -> Iterator[SqlDatabase]:
    db = SqlDatabase.from_url(url, bus=bus)
    try:
        yield db
    finally:
        db.dispose()


def outbox_rows(db: SqlDatabase) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.exec_driver_sql(
                "SELECT member_id, message_key, category, dedupe_key, buttons FROM outbox"
                " ORDER BY id"
            )
        ]


def count(db: SqlDatabase, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())


class Broken(RuntimeError):
    """A subscriber's bug."""


def test_a_handler_that_raises_rolls_back_the_event_that_triggered_it(migrated_url: str) -> None:
    bus = message_bus()  # notifications first: their outbox row is written, then undone
    seen: list[PurchaseRecorded] = []

    def broken(event: PurchaseRecorded, uow: UnitOfWork) -> None:
        seen.append(event)
        raise Broken("a later feature's handler fails")

    bus.subscribe(PurchaseRecorded, broken)
    for db in database(migrated_url, bus):
        app = Loyalty(db, PROGRAM, ManualClock())
        ann = app.enroll(person("ann")).member.id
        before, outbox_before = snapshot(db.engine), outbox_rows(db)
        with pytest.raises(Broken):
            app.record_purchase(
                RecordPurchase(member_id=ann, receipt="R-1", amount_minor=12_00, actor_id=None)
            )
        assert len(seen) == 1 and seen[0].receipt == "R-1"  # it ran, inside the transaction
        assert snapshot(db.engine) == before  # no journal, posting, lot or purchase
        assert outbox_rows(db) == outbox_before  # and no notification
        assert count(db, "purchase") == 0
        LedgerChecker(db.engine).check()


class FlakyDatabase(SqlDatabase):
    """Fails the first transaction with a transient error after its work and handlers ran,
    just before the commit (as a serialization failure or SQLITE_BUSY at commit would)."""

    failures = 1

    def _transaction(self, work: Callable[[Sql], T], write: bool) -> T:
        def then_fail(sql: Sql) -> T:
            result = work(sql)
            if self.failures:
                self.failures -= 1
                raise ConcurrentUpdate("lost a race at commit")
            return result

        return super()._transaction(then_fail, write)


def test_a_retried_transaction_runs_handlers_afresh_and_their_effect_lands_once(
    migrated_url: str,
) -> None:
    bus = message_bus()
    runs: list[int] = []  # events the unit of work had when the handler ran, per attempt
    bus.subscribe(PurchaseRecorded, lambda event, uow: runs.append(len(uow.domain_events.recorded)))
    flaky = FlakyDatabase.from_url(migrated_url, bus=bus)
    try:
        app = Loyalty(flaky, PROGRAM, ManualClock())
        ann = app.enroll(person("ann")).member.id
        flaky.failures = 1
        result = app.record_purchase(
            RecordPurchase(member_id=ann, receipt="R-1", amount_minor=12_00)
        )
        assert flaky.failures == 0  # the first attempt did fail
        assert runs == [1, 1]  # ran twice, each time from an empty event collection
        assert (result.points, result.duplicate) == (12, False)
        # The coffee program holds purchase points for returns: the note says until when.
        earned = [row for row in outbox_rows(flaky) if row[1] == "notify.points_earned_pending"]
        assert earned == [
            (
                ann,
                "notify.points_earned_pending",
                categories.TRANSACTIONAL,
                "points_earned_pending:earn:R-1",
                '[[{"label":"button.balance","params":{},"command":"/balance"}]]',
            )
        ]
        assert count(flaky, "purchase") == 1
        LedgerChecker(flaky.engine).check()
    finally:
        flaky.dispose()


def test_every_service_records_its_events_once_and_replays_record_none(
    migrated_url: str,
) -> None:
    bus = message_bus()
    events: list[DomainEvent] = []
    bus.subscribe(DomainEvent, lambda event, uow: events.append(event))
    for db in database(migrated_url, bus):
        clock = ManualClock()
        app, kudos = Loyalty(db, PROGRAM, clock), Kudos(db, PROGRAM, clock)
        sam = app.enroll(person("sam")).member
        staff = app.set_role(sam.code, Role.STAFF, actor_id=None)
        ann = app.enroll(person("ann"), f"ref-{sam.code}").member
        app.award(
            AwardPoints(member_id=ann.id, key="gw-1", reason="sorry", points=400, actor_id=sam.id)
        )
        purchase = RecordPurchase(member_id=ann.id, receipt="R-1", amount_minor=100_00)
        app.record_purchase(purchase)
        app.record_purchase(purchase)  # a replay: no second event
        app.refund(RefundPurchase(receipt="R-1", refund_id="F-1", amount_minor=40_00))
        clock.advance(timedelta(days=15))
        app.release_due()
        app.redeem(RedeemReward(member_id=ann.id, reward_id="latte", nonce="n-1"))
        app.redeem(RedeemReward(member_id=ann.id, reward_id="latte", nonce="n-1"))  # replay
        gift = GiveKudos(key="k-1", giver_id=sam.id, receiver_id=ann.id, points=5, reason="thx")
        kudos.give(gift)
        kudos.revoke("k-1", sam.id)
        clock.advance(timedelta(days=400))
        app.expire_due()
        kinds = [type(event).__name__ for event in events]
        assert kinds == [
            "MemberEnrolled",  # sam
            "PointsAwarded",  # sam's sign-up bonus
            "RoleChanged",
            "MemberEnrolled",  # ann, invited by sam
            "PointsAwarded",  # ann's sign-up bonus
            "PointsAwarded",  # goodwill from sam
            "PurchaseRecorded",
            "PurchaseRefunded",
            "PointsReleased",
            "PointsRedeemed",
            "GiftGiven",
            "GiftRevoked",
            *["PointsExpired"] * kinds.count("PointsExpired"),
        ]
        assert kinds.count("PointsExpired") >= 2  # both members' lots
        by_type = {type(event): event for event in events}
        assert by_type[RoleChanged] == RoleChanged(
            occurred_at=events[2].occurred_at,
            member_id=sam.id,
            previous=Role.MEMBER,
            role=Role.STAFF,
        )
        assert staff.role is Role.STAFF
        joined = [e for e in events if isinstance(e, MemberEnrolled)]
        assert [(e.member_id, e.referred_by) for e in joined] == [(sam.id, None), (ann.id, sam.id)]
        recorded = by_type[PurchaseRecorded]
        assert isinstance(recorded, PurchaseRecorded)
        assert (recorded.receipt, recorded.amount_minor, recorded.points) == ("R-1", 100_00, 100)
        # The return window ends with the 14th day after the purchase, in the program's zone.
        last_day = (recorded.occurred_at + timedelta(days=14)).astimezone(PROGRAM.zone).date()
        assert recorded.pending_until is not None
        assert recorded.pending_until.astimezone(PROGRAM.zone).date() == last_day
        assert recorded.pending_until + timedelta(microseconds=1) == datetime.combine(
            last_day + timedelta(days=1), time(0), tzinfo=PROGRAM.zone
        )
        refunded = by_type[PurchaseRefunded]
        assert isinstance(refunded, PurchaseRefunded)
        assert (refunded.refund_id, refunded.amount_minor, refunded.points) == ("F-1", 40_00, 40)
        assert refunded.purchase_journal_id == recorded.journal_id
        released = by_type[PointsReleased]
        assert isinstance(released, PointsReleased) and released.points == 60
        redeemed = by_type[PointsRedeemed]
        assert isinstance(redeemed, PointsRedeemed)
        assert (redeemed.reward_id, redeemed.points) == ("latte", 400)
        given, revoked = by_type[GiftGiven], by_type[GiftRevoked]
        assert isinstance(given, GiftGiven) and isinstance(revoked, GiftRevoked)
        assert (given.giver_id, given.receiver_id, given.points) == (sam.id, ann.id, 5)
        assert (revoked.key, revoked.clawed_back, revoked.actor_id) == ("k-1", 5, sam.id)
        expired = [e for e in events if isinstance(e, PointsExpired)]
        assert {e.member_id for e in expired} == {sam.id, ann.id}
        awarded = [e for e in events if isinstance(e, PointsAwarded)]
        assert [(e.action, e.actor_id) for e in awarded] == [
            ("signup", None),
            ("signup", None),
            (None, sam.id),
        ]
        # The notifications subscriber turned the events into outbox messages.
        notes = [(row[0], row[1]) for row in outbox_rows(db)]
        assert notes == [
            (sam.id, "notify.referral_joined"),
            (ann.id, "notify.points_awarded"),
            (ann.id, "notify.points_earned_pending"),
            (ann.id, "notify.points_refunded"),
            (ann.id, "notify.kudos_received"),
        ]
        LedgerChecker(db.engine).check()


def test_handlers_may_queue_any_message_and_a_duplicate_key_is_kept_once(
    migrated_url: str,
) -> None:
    bus = MessageBus()

    def announce(event: MemberEnrolled, uow: UnitOfWork) -> None:
        message = OutboxMessage(
            recipient=Recipient.in_channel("slack", "C0WELCOME"),
            key="notify.referral_joined",
            params={"friend": str(event.member_id)},
            dedupe_key="welcome-wall",  # one post, however many join
        )
        uow.outbox.add(message, event.occurred_at)

    bus.subscribe(MemberEnrolled, announce)
    for db in database(migrated_url, bus):
        app = Loyalty(db, PROGRAM, ManualClock())
        app.enroll(person("ann"))
        app.enroll(person("bob"))
        assert [(row[0], row[3]) for row in outbox_rows(db)] == [(None, "welcome-wall")]
