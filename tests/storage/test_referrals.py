"""Paid referrals over a real database (SQLite and PostgreSQL): rewarded only at the friend's
first qualifying purchase, never for referring yourself, capped per month, taken back when that
purchase is refunded within the return window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.codes import normalize_code
from core.gamification_model import Referral
from core.model import Identity, Member
from tests.storage.gamification_support import World, game_program, who, world
from tests.storage.ledger_checks import LedgerChecker

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def invite(w: World, referrer: Member, name: str) -> Member:
    return w.join(name, payload=f"ref-{normalize_code(referrer.code)}")


def referral_keys(w: World, member: Member) -> list[str]:
    return w.journals(member, "referral:")


def test_both_are_rewarded_only_at_the_friends_first_qualifying_purchase(
    migrated_url: str,
) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        bea = invite(w, ann, "bea")
        assert bea.referred_by == ann.id
        assert w.outbox(ann) == ["notify.referral_joined_paid"]
        assert referral_keys(w, ann) == [] and referral_keys(w, bea) == []
        w.buy(bea, 9_99, by=sam.id)  # under the $10 minimum: not yet
        assert referral_keys(w, ann) == []
        w.buy(bea, 10_00, by=sam.id)  # the first qualifying purchase
        w.buy(bea, 50_00, by=sam.id)  # later ones change nothing
        assert referral_keys(w, ann) == [f"referral:{bea.id}:referrer:0"]
        assert referral_keys(w, bea) == [f"referral:{bea.id}:friend:0"]
        # Pending for the return window, like purchase points.
        assert w.balance(ann) == (5, 100, 0)
        assert w.outbox(ann)[-1] == "notify.referral_rewarded_pending"
        assert "notify.referral_welcome" in w.outbox(bea)
        stats = w.games.referral(ann.id).stats
        assert (stats.joined, stats.rewarded, stats.pending, stats.points) == (1, 1, 0, 100)
        LedgerChecker(w.engine).check()


def test_referring_yourself_earns_nothing(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        # An existing member following her own link is greeted, not referred.
        again = w.loyalty.enroll(who("ann"), f"ref-{normalize_code(ann.code)}")
        assert not again.created and again.referred_by is None
        # The same person under another chat identity that shares her username there.
        twin_identity = Identity(
            platform="telegram", external_id="id-ann-2", display_name="Ann", username="ann"
        )
        twin = w.loyalty.enroll(twin_identity, f"ref-{normalize_code(ann.code)}").member
        w.buy(twin, 20_00, by=sam.id)
        assert referral_keys(w, ann) == [] and referral_keys(w, twin) == []
        assert w.rows("SELECT status, reason FROM referral") == [("refused", "same_identity")]
        # A referral that became the referrer's own (two identities joined into one member).
        w.db.run(
            lambda uow: uow.referrals.add(
                Referral(friend_id=sam.id, referrer_id=sam.id, joined_at=NOW)
            )
        )
        w.buy(sam, 20_00, by=ann.id)
        assert referral_keys(w, sam) == []
        assert ("refused", "same_member") in w.rows("SELECT status, reason FROM referral")
        LedgerChecker(w.engine).check()


def test_a_referrer_is_rewarded_for_at_most_the_monthly_cap(migrated_url: str) -> None:
    with world(migrated_url, program=game_program(cap=2), at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        friends = [invite(w, ann, name) for name in ("bea", "can", "dan")]
        for friend in friends:
            w.buy(friend, 10_00, by=sam.id)
        assert len(referral_keys(w, ann)) == 2  # capped this month
        assert all(referral_keys(w, f) for f in friends)  # every friend is still welcomed
        assert w.outbox(ann)[-1] == "notify.referral_capped"
        w.at(NOW + timedelta(days=30))  # April: a new month, a new cap
        late = invite(w, ann, "eve")
        w.buy(late, 10_00, by=sam.id)
        assert len(referral_keys(w, ann)) == 3
        LedgerChecker(w.engine).check()


def test_a_refund_within_the_return_window_takes_both_rewards_back(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        bea = invite(w, ann, "bea")
        receipt = w.buy(bea, 30_00, by=sam.id)
        w.at(NOW + timedelta(days=2))
        w.refund(receipt, 15_00)  # $15 kept: still over the minimum
        assert w.rows("SELECT status FROM referral") == [("rewarded",)]
        w.refund(receipt)  # the rest: the qualifying purchase is gone
        assert w.rows("SELECT status, receipt FROM referral") == [("pending", None)]
        clawbacks = w.rows("SELECT member_id FROM journal WHERE kind = 'clawback' ORDER BY id")
        assert clawbacks == [(bea.id,), (ann.id,)]
        assert w.balance(ann) == (5, 0, 0)
        assert w.outbox(ann)[-1] == "notify.referral_taken_back"
        # The next qualifying purchase earns the reward again (once at a time).
        w.buy(bea, 12_00, by=sam.id)
        assert referral_keys(w, ann) == [
            f"referral:{bea.id}:referrer:0",
            f"referral:{bea.id}:referrer:1",
        ]
        assert w.balance(ann) == (5, 100, 0)
        LedgerChecker(w.engine).check()


def test_a_refund_after_the_return_window_keeps_the_rewards(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        bea = invite(w, ann, "bea")
        receipt = w.buy(bea, 30_00, by=sam.id)
        w.at(NOW + timedelta(days=15))  # the 14-day return window has passed
        w.loyalty.release_due()
        w.refund(receipt)
        assert w.rows("SELECT status FROM referral") == [("rewarded",)]
        assert w.rows("SELECT 1 FROM journal WHERE kind = 'clawback'") == []
        assert w.balance(ann)[0] == 105
        LedgerChecker(w.engine).check()
