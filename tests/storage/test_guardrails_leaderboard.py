"""Guardrails, leaderboards and the set-based reads nudge planners use, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import errors
from core.commands import AwardPoints
from core.model import Role
from tests.storage.gamification_support import game_program, world
from tests.storage.ledger_checks import LedgerChecker, snapshot

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def test_staff_cannot_serve_themselves_unless_the_program_allows_it(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam = w.staff()
        boss = w.loyalty.set_role(w.join("boss").code, Role.ADMIN)
        before = snapshot(w.engine)
        with pytest.raises(errors.SelfServiceRefused):
            w.buy(sam, 10_00, by=sam.id)
        with pytest.raises(errors.SelfServiceRefused):
            w.loyalty.award(
                AwardPoints(
                    member_id=sam.id, key="self-1", reason="me", points=100, actor_id=sam.id
                )
            )
        with pytest.raises(errors.SelfServiceRefused):  # nobody: admins neither
            w.buy(boss, 10_00, by=boss.id)
        assert snapshot(w.engine) == before  # nothing half-written
    with world(migrated_url, program=game_program(self_service="admins"), at=NOW) as w:
        with pytest.raises(errors.SelfServiceRefused):
            w.buy(sam, 10_00, by=sam.id)
        w.buy(boss, 10_00, by=boss.id)
    with world(migrated_url, program=game_program(self_service="staff"), at=NOW) as w:
        w.buy(sam, 10_00, by=sam.id)
        LedgerChecker(w.engine).check()


def test_actions_are_awarded_no_more_often_than_their_limit(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")  # ann's sign-up bonus used "signup" once
        with pytest.raises(errors.ActionAlreadyAwarded):
            w.award(ann, "signup", "again", by=sam.id)
        w.award(ann, "birthday", "happy birthday", by=sam.id)
        with pytest.raises(errors.ActionLimitReached) as refused:
            w.award(ann, "birthday", "twice", by=sam.id)
        assert refused.value.params["period"] == "2026"
        mine, bobs = w.buy(ann, 5_00, by=sam.id), w.buy(w.join("bob"), 5_00, by=sam.id)
        w.award(ann, "review", mine, by=sam.id)
        with pytest.raises(errors.ActionLimitReached):
            w.award(ann, "review", mine, by=sam.id)  # once per receipt
        for receipt in (bobs, "R-nope", "great coffee"):  # not a purchase of hers
            with pytest.raises(errors.ReceiptRequired):
                w.award(ann, "review", receipt, by=sam.id)
        w.award(ann, "social_share", "instagram", by=sam.id)
        with pytest.raises(errors.ActionLimitReached):
            w.award(ann, "social_share", "again", by=sam.id)
        w.at(NOW + timedelta(days=1))
        w.award(ann, "social_share", "next day", by=sam.id)  # daily
        w.at(datetime(2027, 3, 4, 15, 0, tzinfo=UTC))
        w.award(ann, "birthday", "a year later", by=sam.id)
        awarded = w.rows("SELECT action, period FROM action_award WHERE member_id = :m"
                         " ORDER BY action, period", m=ann.id)  # fmt: skip
        assert awarded == [
            ("birthday", "2026"),
            ("birthday", "2027"),
            ("review", f"receipt:{mine}"),
            ("signup", "once"),
            ("social_share", "2026-03-04"),
            ("social_share", "2026-03-05"),
        ]
        LedgerChecker(w.engine).check()


def test_the_leaderboard_ranks_points_earned_and_hides_who_opted_out(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam = w.staff()
        ann, bea, can, dan = (w.join(n) for n in ("ann", "bea", "can", "dan"))
        for member, amount in ((ann, 100_00), (bea, 300_00), (can, 100_00), (dan, 200_00)):
            w.buy(member, amount, by=sam.id)
        w.loyalty.set_leaderboard(dan.id, False)
        top = w.games.leaderboard(ann.id)
        # Sign-up bonuses (5) count as points earned; Dan opted out; Sam's 5 trail.
        assert [(r.rank, r.name, r.score) for r in top.top] == [
            (1, "Bea", 305),
            (2, "Ann", 105),
            (2, "Can", 105),
            (4, "Sam", 5),
        ]
        assert (top.own_rank, top.own_score, top.hidden) == (2, 105, False)
        hidden = w.games.leaderboard(dan.id)
        assert (hidden.own_rank, hidden.own_score, hidden.hidden) == (2, 205, True)
        w.refund(w.rows("SELECT receipt FROM purchase WHERE member_id = :m", m=bea.id)[0][0])
        assert w.games.leaderboard(ann.id).top[0].name == "Ann"
        w.at(NOW + timedelta(days=31))  # April: a new board
        assert w.games.leaderboard(ann.id).top == []
        w.loyalty.set_leaderboard(dan.id, True)
        assert not w.games.leaderboard(dan.id).hidden


def test_a_leaderboard_by_challenge(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann, bea = w.staff(), w.join("ann"), w.join("bea")
        for day in range(2):
            w.at(NOW + timedelta(days=day))
            w.buy(ann, 5_00, by=sam.id)
        w.buy(bea, 5_00, by=sam.id)
        board = w.games.leaderboard(bea.id, "three visits")
        assert [(r.rank, r.name, r.score) for r in board.top] == [(1, "Ann", 2), (2, "Bea", 1)]
        assert (board.own_rank, board.own_score) == (2, 1)
        with pytest.raises(errors.UnknownChallenge):
            w.games.leaderboard(bea.id, "juggling")


def test_set_based_reads_for_nudges(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann, bea, gil = w.staff(), w.join("ann"), w.join("bea"), w.join("gil")
        w.games.join(bea.id, "spend-30")
        w.buy(ann, 5_00, by=sam.id)  # Wednesday: streak 1, three visits 1 of 3
        w.buy(bea, 20_00, by=sam.id)  # and $20 of $30
        w.buy(gil, 600_00, by=sam.id)  # Gold

        def read(work):  # type: ignore[no-untyped-def]
            return w.db.run(work, write=False)

        # Ann's streak (no grace) ends at the end of Thursday unless she comes by then.
        thursday_end = datetime(2026, 3, 6, 5, 0, tzinfo=UTC)  # Friday 00:00 in New York
        risky = read(lambda uow: uow.challenges.streaks_at_risk(NOW, thursday_end))
        assert {(r.member_id, r.challenge_id, r.streak) for r in risky} == {
            (ann.id, "streak", 1),
            (bea.id, "streak", 1),
            (gil.id, "streak", 1),
        }
        assert read(lambda uow: uow.challenges.streaks_at_risk(NOW, NOW + timedelta(hours=1))) == []
        # Challenges ending by Sunday night that are not done, with what is left.
        sunday_end = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
        ending = read(lambda uow: uow.challenges.challenges_ending(NOW, sunday_end))
        assert {(e.member_id, e.challenge_id, e.left) for e in ending} == {
            (m.id, "three-visits", 2) for m in (ann, bea, gil)
        }
        month_end = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
        ending = read(lambda uow: uow.challenges.challenges_ending(NOW, month_end))
        assert (bea.id, "spend-30", 10_00) in {
            (e.member_id, e.challenge_id, e.left) for e in ending
        }
        # Who takes part in a challenge (a broadcast segment).
        assert read(lambda uow: uow.challenges.participants("spend-30", NOW)) == [bea.id]
        assert read(lambda uow: uow.challenges.participants("three-visits", NOW)) == sorted(
            [ann.id, bea.id, gil.id]
        )
        # Tiers to keep: Gil's Gold window ends on 1 June, $600 counted so far.
        keep = read(lambda uow: uow.tiers.keep_due(NOW, datetime(2026, 6, 3, tzinfo=UTC)))
        assert [(k.member_id, k.tier_id, k.spend_minor) for k in keep] == [(gil.id, "gold", 600_00)]
