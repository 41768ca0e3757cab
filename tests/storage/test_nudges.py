"""Nudges with a controlled clock, on SQLite and PostgreSQL: each kind fires once for the right
members at the right local time and never in quiet hours; the frequency cap and opt-outs hold;
the same lot, voucher or period never nudges twice; the dry run queues nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from core.commands import RedeemReward
from core.gamification_model import TierStatus
from core.ports import UnitOfWork
from tests.storage.nudge_support import NudgeWorld, nudge_program, nudge_world

NY = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York


def _put_tier(uow: UnitOfWork, *, member_id: int, status: TierStatus) -> None:
    uow.tiers.put(member_id, status)


def _kinds(nw: NudgeWorld, member: object) -> list[str]:
    return [category for category, _ in nw.nudges(member)]  # type: ignore[arg-type]


def test_streak_ending_today_fires_once_from_the_members_hour(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        ann, bob = w.join("ann"), w.join("bob")
        w.buy(ann, 1200)  # Monday and Tuesday: the streak ends at the end of Wednesday
        w.at(START + timedelta(days=1))
        w.buy(ann, 1200)
        w.buy(bob, 1200)  # one day only: no streak worth a reminder
        before = nw.plan(datetime(2026, 3, 4, 8, 30, tzinfo=NY))  # quiet hours until 09:00
        assert before.count == 0 and before.waiting >= 1
        assert nw.nudges(ann) == []
        plan = nw.plan(datetime(2026, 3, 4, 10, 30, tzinfo=NY))
        assert plan.queued == plan.count >= 1 and plan.planned == []
        assert ("streak", "nudge.streak") in nw.nudges(ann)
        row = nw.outbox_row(ann, "streak")
        assert json.loads(row["params"])["days"] == 2
        assert "/challenges" in row["buttons"]
        nw.plan(datetime(2026, 3, 4, 15, 30, tzinfo=NY))
        assert _kinds(nw, ann).count("streak") == 1
        assert "streak" not in _kinds(nw, bob)
        assert "streak" not in _kinds(nw, w.join("carol"))


def test_challenge_ending_tomorrow_says_what_is_left(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        ann, bob = w.join("ann"), w.join("bob")
        w.buy(ann, 500)
        w.at(START + timedelta(days=2))
        w.buy(ann, 500)
        for _ in range(3):  # bob finished the week's three visits
            w.buy(bob, 500)
            w.at(w.clock.at + timedelta(hours=25))
        nw.plan(datetime(2026, 3, 6, 10, 30, tzinfo=NY))  # Friday: the week ends Sunday
        assert "challenge_ending" not in _kinds(nw, ann)
        nw.plan(datetime(2026, 3, 7, 10, 30, tzinfo=NY))  # Saturday: ends tomorrow
        assert ("challenge_ending", "nudge.challenge_ending.visits") in nw.nudges(ann)
        assert json.loads(nw.outbox_row(ann, "challenge_ending")["params"])["left"] == 1
        assert "challenge_ending" not in _kinds(nw, bob)


def test_cap_orders_kinds_by_urgency_and_holds_per_day_and_week(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        ann = w.join("ann")
        w.buy(ann, 11000)  # 110 points, 5 for signing up: 35 from a cookie; expiring in a year
        expiry_soon = datetime(2027, 2, 24, 10, 30, tzinfo=NY)
        w.at(expiry_soon - timedelta(days=31))
        w.buy(ann, 100)  # her last visit, a month ago: inactive for 30 days now; 34 from a cookie
        first = nw.plan(expiry_soon)
        assert _kinds(nw, ann) == ["points_expiring"]  # one a day: the most urgent first
        assert first.capped >= 1  # the win-back waited
        row = json.loads(nw.outbox_row(ann, "points_expiring")["params"])
        assert row["points"] == 115  # the year-old lot only
        nw.plan(expiry_soon + timedelta(hours=3))  # the same day: nothing more
        assert _kinds(nw, ann) == ["points_expiring"]
        nw.plan(expiry_soon + timedelta(days=1))
        assert _kinds(nw, ann) == ["points_expiring", "winback"]
        assert w.balance(ann)[0] == 156  # the win-back bonus, given once
        # The bonus just earned makes a cookie affordable and puts a latte 44 away.
        nw.plan(expiry_soon + timedelta(days=2))
        assert _kinds(nw, ann) == ["points_expiring", "winback", "near_reward"]
        assert "/redeem cookie" in nw.outbox_row(ann, "near_reward")["buttons"]
        w.at(expiry_soon + timedelta(days=3))
        w.buy(ann, 100)  # a visit: one more point, 43 from a latte (a new approach)
        nw.plan(expiry_soon + timedelta(days=3))  # three in a week: the cap
        assert len(_kinds(nw, ann)) == 3
        # A week on the cap allows more: the new approach, once; the lot and spell were told.
        for day in (9, 10, 11):
            nw.plan(expiry_soon + timedelta(days=day))
        assert _kinds(nw, ann) == ["points_expiring", "winback", "near_reward", "near_reward"]
        assert w.balance(ann)[0] == 157  # no second bonus


def test_a_cap_above_one_a_day_counts_each_nudge_of_the_run_once(migrated_url: str) -> None:
    with nudge_world(migrated_url, nudge_program(per_day=2, per_week=3), at=START) as nw:
        w = nw.w
        ann = w.join("ann")
        w.buy(ann, 11000)
        expiry_soon = datetime(2027, 2, 24, 10, 30, tzinfo=NY)
        w.at(expiry_soon - timedelta(days=31))
        w.buy(ann, 100)  # expiring points and a win-back due at once: two a day may go
        preview = nw.plan(expiry_soon, dry_run=True)
        assert [p.kind for p in preview.planned] == ["points_expiring", "winback"]
        nw.plan(expiry_soon)
        assert _kinds(nw, ann) == ["points_expiring", "winback"]
        nw.plan(expiry_soon + timedelta(hours=3))  # the day's two are taken
        assert _kinds(nw, ann) == ["points_expiring", "winback"]


def test_opted_out_kinds_are_never_planned(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        ann, bob = w.join("ann"), w.join("bob")
        w.buy(ann, 11000)
        w.buy(bob, 11000)
        w.loyalty.subscribe(ann.id, ["points_expiring", "winback"], False)
        moment = datetime(2027, 2, 24, 10, 30, tzinfo=NY)
        w.at(moment - timedelta(days=31))
        w.buy(ann, 100)
        w.buy(bob, 100)
        for day in range(4):
            nw.plan(moment + timedelta(days=day))
        assert _kinds(nw, ann) == []  # her other due kind, near a reward, needs a recent earning
        assert _kinds(nw, bob) == ["points_expiring", "winback", "near_reward"]


def test_birthday_in_each_members_own_day_and_quiet_hours(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        tokyo, york, late = w.join("kenji", "Asia/Tokyo"), w.join("ann"), w.join("lea")
        for member in (tokyo, york, late):
            w.loyalty.set_birthday(member.id, datetime(2000, 3, 4).date())
        w.loyalty.set_quiet_hours(late.id, "08:00-12:00")
        nw.plan(datetime(2026, 3, 4, 1, 30, tzinfo=UTC))  # 10:30 in Tokyo, 20:30 (3 Mar) in NY
        assert _kinds(nw, tokyo) == ["birthday_wishes"]
        assert _kinds(nw, york) == [] and _kinds(nw, late) == []
        nw.plan(datetime(2026, 3, 4, 10, 30, tzinfo=NY))  # Tokyo: 00:30 on 5 Mar
        assert _kinds(nw, york) == ["birthday_wishes"]
        assert _kinds(nw, late) == []  # inside their own quiet hours
        nw.plan(datetime(2026, 3, 4, 12, 30, tzinfo=NY))
        assert _kinds(nw, late) == ["birthday_wishes"]
        assert _kinds(nw, tokyo) == ["birthday_wishes"]
        assert w.balance(york)[0] == 105  # 5 for signing up, 100 for the birthday
        assert w.journals(york, "nudge:birthday") == [f"nudge:birthday:{york.id}:2026"]
        nw.plan(datetime(2027, 3, 4, 10, 30, tzinfo=NY))  # next year: again
        assert _kinds(nw, york) == ["birthday_wishes", "birthday_wishes"]


def test_unused_voucher_about_to_expire(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        ann, bob, staff = w.join("ann"), w.join("bob"), w.staff()
        vouchers = []
        for member in (ann, bob):
            w.buy(member, 15000)
            redeemed = w.loyalty.redeem(
                RedeemReward(member_id=member.id, reward_id="cookie", nonce=f"n-{member.id}")
            )
            vouchers.append(redeemed)
        w.loyalty.use_voucher(vouchers[1].voucher, staff.id)
        nw.plan(START + timedelta(days=20))
        assert "voucher_expiring" not in _kinds(nw, ann)
        # Valid until the end of 1 Apr; on 30 Mar a month's challenge ending tomorrow comes
        # first (one nudge a day), the voucher the day after.
        nw.plan(datetime(2026, 3, 30, 10, 30, tzinfo=NY))
        nw.plan(datetime(2026, 3, 31, 10, 30, tzinfo=NY))
        assert _kinds(nw, ann) == ["challenge_ending", "voucher_expiring"]
        assert "/vouchers" in nw.outbox_row(ann, "voucher_expiring")["buttons"]
        assert "voucher_expiring" not in _kinds(nw, bob)


def test_tier_keep_before_the_window_closes(migrated_url: str) -> None:
    with nudge_world(migrated_url, nudge_program(), at=START) as nw:
        w = nw.w
        short, kept = w.join("ann"), w.join("bob")
        w.buy(short, 5000)
        w.buy(kept, 20000)
        now = START + timedelta(days=1)
        for member in (short, kept):
            status = TierStatus(
                tier_id="silver",
                since=START - timedelta(days=80),
                until=now + timedelta(days=10),
                counts_from=START - timedelta(days=1),
            )
            w.db.run(partial(_put_tier, member_id=member.id, status=status))
        nw.plan(now.astimezone(NY).replace(hour=10, minute=30))
        assert "tier_keep" in _kinds(nw, short)
        params = json.loads(nw.outbox_row(short, "tier_keep")["params"])
        assert params["left"] == "100.00 USD" and params["tier"] == "Silver"
        assert "tier_keep" not in _kinds(nw, kept)


def test_near_reward_offers_redeem_when_one_is_affordable(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        rich, close, far = w.join("ann"), w.join("bob"), w.join("cy")
        w.buy(rich, 16000)  # 165 with the sign-up points: a cookie now, 35 from a latte
        w.buy(close, 12000)  # 25 from a cookie
        w.buy(far, 5000)
        nw.plan(datetime(2026, 3, 3, 10, 30, tzinfo=NY))
        rich_row = nw.outbox_row(rich, "near_reward")
        assert "/redeem cookie" in rich_row["buttons"]
        assert json.loads(rich_row["params"])["left"] == 35
        close_row = nw.outbox_row(close, "near_reward")
        assert "/rewards" in close_row["buttons"] and "/redeem" not in close_row["buttons"]
        assert _kinds(nw, far) == []


def test_dry_run_says_what_and_why_and_queues_nothing(migrated_url: str) -> None:
    with nudge_world(migrated_url, at=START) as nw:
        w = nw.w
        ann = w.join("ann")
        w.buy(ann, 12000)
        plan = nw.plan(datetime(2026, 3, 3, 10, 30, tzinfo=NY), dry_run=True)
        assert [(p.member_id, p.kind) for p in plan.planned] == [(ann.id, "near_reward")]
        assert "25 from Cookie" in plan.planned[0].why
        assert nw.nudges(ann) == [] and plan.queued == 0
        assert w.rows("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'nudge:%'") == [(0,)]
