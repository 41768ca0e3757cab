"""The tier coach over a real database (SQLite and PostgreSQL): the stored tier upgrades at
once, is kept for its window, and at the window's end is kept or dropped (one tier at a time,
or to the tier reached); the "keep Gold" line; a refund undoing an upgrade."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.commands.member import balance_lines
from bot.i18n import shipped_catalogs
from bot.render import Renderer
from bot.replies import Reply
from core.model import Member
from tests.storage.gamification_support import World, game_program, world
from tests.storage.ledger_checks import LedgerChecker

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # the window of 90 days runs to 1 June
AFTER_FIRST = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)  # the second window runs to 30 August
AFTER_SECOND = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)


def tier(w: World, member: Member) -> tuple[str, datetime | None]:
    status = w.db.run(lambda uow: uow.tiers.get(member.id), write=False)
    assert status is not None
    return status.tier_id, status.until


def balance_text(w: World, member: Member) -> str:
    summary = w.loyalty.balance(member.id)
    renderer = Renderer(shipped_catalogs(), w.program.zone)
    return renderer.text(Reply(balance_lines(summary, 2)), "en")


def test_upgrade_at_once_keep_the_tier_through_its_window_then_keep_or_drop_it(
    migrated_url: str,
) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        assert tier(w, ann) == ("green", None)
        w.buy(ann, 200_00, by=sam.id)
        w.buy(ann, 300_00, by=sam.id)
        tier_id, until = tier(w, ann)
        assert tier_id == "gold"
        assert until is not None and until.astimezone(w.program.zone).date().isoformat() == (
            "2026-06-01"
        )
        assert w.outbox(ann).count("notify.tier_up") == 2  # Silver, then Gold
        assert "Gold · ✅ kept: you've spent $500.00 of the $500.00 it takes by 1 Jun" in (
            balance_text(w, ann)
        )
        w.at(AFTER_FIRST - timedelta(days=2))
        assert w.games.review_tiers().candidates == 0  # the window has not ended
        w.at(AFTER_FIRST)  # enough spend in the window: kept for another one
        review = w.games.review_tiers()
        assert (review.candidates, review.lots) == (1, 0)
        assert tier(w, ann)[0] == "gold"
        w.buy(ann, 458_00, by=sam.id)
        text = balance_text(w, ann)
        assert re.search(
            r"Gold · keep it: spend \$42\.00 more by 30 Aug( 2026)? "
            r"\(you've spent \$458\.00 of \$500\.00 so far\)",
            text,
        ), text
        assert "Gold, the top tier" not in text
        w.at(AFTER_SECOND)  # $458 of $500: Gold goes, one tier at a time
        assert w.games.review_tiers().lots == 1
        assert tier(w, ann)[0] == "silver"
        assert w.outbox(ann)[-1] == "notify.tier_down"
        assert "Silver · keep it: spend $150.00 more by 28 Nov" in balance_text(w, ann)
        w.at(AFTER_SECOND + timedelta(days=90))  # nothing spent: Green, the base tier
        w.games.review_tiers()
        assert tier(w, ann) == ("green", None)
        # While a tier is held, purchases earn at its multiplier.
        LedgerChecker(w.engine).check()


def test_a_kept_tier_earns_its_multiplier_and_to_qualified_drops_straight_down(
    migrated_url: str,
) -> None:
    with world(migrated_url, program=game_program(downgrade="to_qualified"), at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        w.buy(ann, 600_00, by=sam.id)
        w.at(AFTER_FIRST)
        w.games.review_tiers()
        assert tier(w, ann)[0] == "gold"  # $600 in the first window: kept for a second one
        w.at(datetime(2026, 8, 15, 15, 0, tzinfo=UTC))
        # The $600 left the 90-day rolling window long ago, but Gold is held until 30 August.
        receipt = w.buy(ann, 100_00, by=sam.id)
        points = w.rows("SELECT points FROM purchase WHERE receipt = :r", r=receipt)[0][0]
        assert points == 150  # ×1.5, Gold's multiplier
        w.at(AFTER_SECOND)
        w.games.review_tiers()
        assert tier(w, ann)[0] == "green"  # $100 reaches nothing: straight to the base tier
        LedgerChecker(w.engine).check()


def test_a_refund_of_the_purchase_behind_an_upgrade_undoes_it(migrated_url: str) -> None:
    with world(migrated_url, at=NOW) as w:
        sam, ann = w.staff(), w.join("ann")
        w.buy(ann, 200_00, by=sam.id)
        silver_until = tier(w, ann)[1]
        w.at(NOW + timedelta(days=1))
        big = w.buy(ann, 400_00, by=sam.id)
        assert tier(w, ann)[0] == "gold"
        w.at(NOW + timedelta(days=2))
        w.refund(big)
        assert tier(w, ann) == ("silver", silver_until)  # back where it was, window and all
        assert w.outbox(ann)[-1] == "notify.tier_down"
        w.refund(
            w.rows("SELECT receipt FROM purchase WHERE member_id = :m ORDER BY receipt", m=ann.id)[
                0
            ][0]
        )
        assert tier(w, ann) == ("green", None)
        LedgerChecker(w.engine).check()
