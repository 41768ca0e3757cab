"""The report's broadcasts section: each broadcast started in the period with its lift over the
holdout a week after the start (core.lift), on both engines."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from bot.report_views import report_json
from core.commands import RecordPurchase
from core.model import Role
from tests.testbot import BotUnderTest


def _rows(bot: BotUnderTest, sql: str) -> list[tuple[Any, ...]]:
    with bot.services.database.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def test_the_report_shows_each_broadcast_with_its_lift(testbot: BotUnderTest) -> None:
    bot = testbot
    sam = bot.person("sam", Role.STAFF)
    for n in range(99):
        bot.person(f"m{n:03d}")
    reports = bot.services.reports
    assert reports is not None
    before = json.loads(report_json(reports.for_text("week")))
    assert before["sections"]["broadcasts"] == {"broadcasts": []}
    broadcasts = bot.services.broadcasts
    draft = broadcasts.compose(
        author_id=sam.id, segment_text="all", body="Come in", now=bot.clock.now(),
        holdout_percent=40,
    )  # fmt: skip
    broadcasts.send_now(draft.broadcast.id, bot.clock.now())
    got = [
        int(r[0]) for r in _rows(bot, "SELECT member_id FROM broadcast_member WHERE NOT holdout")
    ]
    bot.clock.advance(days=1)
    for n, member_id in enumerate(got):  # everyone who got it came in and spent $10
        bot.services.loyalty.record_purchase(
            RecordPurchase(member_id=member_id, receipt=f"L-{n}", amount_minor=1000)
        )
    report = json.loads(report_json(reports.for_text("week")))
    (row,) = report["sections"]["broadcasts"]["broadcasts"]
    assert (row["audience"], row["holdout"], row["lift_enough"]) == (100, 40, True)
    assert row["lift"]["visits"]["difference"] == "1.00"
    assert row["lift"]["spend"]["difference"] == "10.00"
    assert row["lift"]["redemptions"]["difference"] == "0.00"
    said = bot.say("/report week", as_="sam").plain
    assert "#1 to all: audience 100, holdout 40" in said
    assert "spend per member: +10.00 (+10.00 to +10.00)" in said
