"""Broadcasts through the real router and storage, on SQLite and PostgreSQL: segments, the
preview, bad input answered in one line with nothing queued, the holdout drawn exactly, opted-out
members skipped, a start that happens once, cancel, schedule, the report and the lift."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from core.commands import RecordPurchase
from core.model import Role
from tests.testbot import BotUnderTest


def _rows(bot: BotUnderTest, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with bot.services.database.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def _outbox(bot: BotUnderTest, broadcast_id: int) -> dict[int, str]:
    rows = _rows(
        bot,
        "SELECT member_id, status FROM outbox WHERE dedupe_key LIKE :p",
        p=f"broadcast:{broadcast_id}:%",
    )
    return {int(row[0]): str(row[1]) for row in rows if row[0] is not None}


def _crowd(bot: BotUnderTest, count: int) -> list[int]:
    return [bot.person(f"m{n:03d}").id for n in range(count)]


def test_preview_shows_audience_holdout_and_the_members_message(testbot: BotUnderTest) -> None:
    testbot.person("sam", Role.STAFF)
    _crowd(testbot, 19)
    said = testbot.say("/broadcast all Fresh pastries today!", as_="sam")
    assert "20 members" in said.plain and "2 (10%) held back" in said.plain
    assert "so 18 get it" in said.plain
    assert said.plain.splitlines()[-1] == "📣 Fresh pastries today!"
    assert said.buttons[-3:] == [
        "/broadcast send 1",
        "/broadcast schedule 1",
        "/broadcast cancel 1",
    ]
    assert _outbox(testbot, 1) == {}  # nothing queued before Send now


def test_bad_input_is_one_line_and_queues_nothing(testbot: BotUnderTest) -> None:
    testbot.person("sam", Role.STAFF)
    testbot.person("ann")
    cases = {
        "/broadcast nobody hello": "I don't know the segment “nobody”",
        "/broadcast all": "has no text",
        "/broadcast gold+silver hi": "I don't know the segment",
        "/broadcast all holdout:90 hi": "from 0 to 50",
        "/broadcast platform:slack " + "x" * 3000: "at most 2,984",
        "/broadcast send x": "Usage: /broadcast",
    }
    for line, expected in cases.items():
        said = testbot.say(line, as_="sam")
        assert len(said.reply.lines) == 1 and expected in said.plain, (line, said.plain)
    denied = testbot.say("/broadcast all hello", as_="ann")
    assert len(denied.reply.lines) == 1 and "Only staff" in denied.plain
    draft = testbot.say("/broadcast all hello", as_="sam")
    assert "#1" in draft.plain
    past = testbot.say("/broadcast schedule 1 08:00", as_="sam")  # 10:00 in New York now
    assert past.plain == "That time has already passed. Pick a later one."
    assert _rows(testbot, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'broadcast:%'") == [
        (0,)
    ]
    assert _rows(testbot, "SELECT status FROM broadcast") == [("draft",)]


def test_segments_select_their_members(testbot: BotUnderTest) -> None:
    bot = testbot
    bot.person("sam", Role.STAFF)
    ann, bob = bot.person("ann"), bot.person("bob")
    bot.person("cem")
    bot.say("/settings language tr", as_="cem")
    bot.services.loyalty.record_purchase(
        RecordPurchase(member_id=ann.id, receipt="R-1", amount_minor=60000)
    )  # Gold
    bot.services.gamification.join(bob.id, "monthly-30")
    counts = {
        "all": 4,
        "gold": 1,
        "green": 3,
        "inactive:30": 3,
        "challenge:monthly-30": 1,
        "lang:tr": 1,
        "platform:telegram": 4,
        "platform:slack": 0,
        "green+lang:tr": 1,
        "inactive:30+lang:en": 2,
    }
    for segment, expected in counts.items():
        draft = bot.services.broadcasts.compose(
            author_id=None, segment_text=segment, body="hi", now=bot.clock.now()
        )
        assert draft.audience == expected, segment


def test_send_draws_the_holdout_exactly_and_skips_opted_out(testbot: BotUnderTest) -> None:
    bot = testbot
    bot.person("sam", Role.STAFF)
    members = _crowd(bot, 36)  # 37 with sam: 10% is 3.7, so 4 held back
    bot.say("/settings broadcast off", as_="m000")
    bot.say("/broadcast all Hello there", as_="sam")
    started = bot.say("/broadcast send 1", as_="sam")
    assert "33 members (4 held back)" in started.plain
    again = bot.say("/broadcast send 1", as_="sam")
    assert len(again.reply.lines) == 1 and "already" in again.plain
    held = {int(r[0]) for r in _rows(bot, "SELECT member_id FROM broadcast_member WHERE holdout")}
    assert len(held) == 4
    rows = _outbox(bot, 1)
    assert len(rows) == 33 and not held & set(rows)
    opted = members[0]
    if opted not in held:
        assert rows[opted] == "skipped"
    assert sum(status == "queued" for status in rows.values()) == 33 - (opted not in held)
    message = _rows(
        bot, "SELECT params, category FROM outbox WHERE dedupe_key LIKE 'broadcast:1:%'"
    )[0]
    assert (
        json.loads(message[0]) == {"text": {"$body": "Hello there"}} and message[1] == "broadcast"
    )


def test_cancel_skips_whoever_is_still_waiting_and_the_report_adds_up(
    testbot: BotUnderTest,
) -> None:
    bot = testbot
    sam = bot.person("sam", Role.STAFF)
    _crowd(bot, 29)
    bot.say("/broadcast all holdout:20 Hi", as_="sam")
    bot.say("/broadcast send 1", as_="sam")
    ids = sorted(_outbox(bot, 1))
    queue = bot.services.outbox
    now = bot.clock.now()
    for member_id in ids[:10]:  # the dispatcher got through ten before the cancel
        row = _rows(
            bot, "SELECT id FROM outbox WHERE dedupe_key = :k", k=f"broadcast:1:{member_id}"
        )
        queue.mark_sent(int(row[0][0]), now)
    row = _rows(bot, "SELECT id FROM outbox WHERE dedupe_key = :k", k=f"broadcast:1:{ids[10]}")
    queue.mark_blocked(int(row[0][0]), "telegram")
    assert "cancelled" in bot.say("/broadcast cancel 1", as_="sam").plain
    broadcasts = bot.services.broadcasts
    assert broadcasts.finish_done(bot.clock.now()) == 1
    assert broadcasts.finish_done(bot.clock.now()) == 0  # reported once
    report = broadcasts.report(1)
    assert (report.sent, report.blocked, report.holdout, report.waiting) == (10, 1, 6, 0)
    assert report.sent + report.skipped + report.blocked + report.failed + report.holdout == 30
    told = _rows(
        bot, "SELECT message_key, params FROM outbox WHERE member_id = :m AND dedupe_key = :k",
        m=sam.id, k="broadcast:1:report",
    )  # fmt: skip
    assert told[0][0] == "broadcast.report"
    assert json.loads(told[0][1])["skipped"] == 13


def test_scheduled_in_the_authors_zone_starts_when_due(testbot: BotUnderTest) -> None:
    bot = testbot
    bot.person("sam", Role.STAFF)
    bot.say("/settings zone Europe/Istanbul", as_="sam")  # 18:00 there at START
    _crowd(bot, 3)
    bot.say("/broadcast all holdout:0 Tonight only", as_="sam")
    said = bot.say("/broadcast schedule 1 19:30", as_="sam")
    assert "19:30 (Europe/Istanbul)" in said.plain
    broadcasts = bot.services.broadcasts
    assert broadcasts.start_due(bot.clock.now() + timedelta(minutes=89)) == 0
    assert _outbox(bot, 1) == {}
    assert broadcasts.start_due(bot.clock.now() + timedelta(minutes=90)) == 1
    assert broadcasts.start_due(bot.clock.now() + timedelta(minutes=91)) == 0
    assert len(_outbox(bot, 1)) == 4


def test_lift_after_seven_days_compares_audience_and_holdout(testbot: BotUnderTest) -> None:
    bot = testbot
    sam = bot.person("sam", Role.STAFF)
    _crowd(bot, 99)
    broadcasts = bot.services.broadcasts
    draft = broadcasts.compose(
        author_id=sam.id, segment_text="all", body="Come in", now=bot.clock.now(),
        holdout_percent=40,
    )  # fmt: skip
    broadcasts.send_now(draft.broadcast.id, bot.clock.now())
    rows = _rows(bot, "SELECT id FROM outbox WHERE dedupe_key LIKE 'broadcast:1:%'")
    for (row_id,) in rows:
        bot.services.outbox.mark_sent(int(row_id), bot.clock.now())
    broadcasts.finish_done(bot.clock.now())
    got = [
        int(r[0]) for r in _rows(bot, "SELECT member_id FROM broadcast_member WHERE NOT holdout")
    ]
    assert len(got) == 60
    bot.clock.advance(days=1)
    for n, member_id in enumerate(got):  # everyone who got it came in and spent $10
        bot.services.loyalty.record_purchase(
            RecordPurchase(member_id=member_id, receipt=f"L-{n}", amount_minor=1000)
        )
    assert broadcasts.report_lift(bot.clock.now() + timedelta(days=5)) == 0
    assert broadcasts.report_lift(bot.clock.now() + timedelta(days=7)) == 1
    assert broadcasts.report_lift(bot.clock.now() + timedelta(days=8)) == 0
    told = _rows(
        bot, "SELECT message_key, params FROM outbox WHERE dedupe_key = 'broadcast:1:lift7'"
    )
    assert told[0][0] == "broadcast.lift_clear"
    params = json.loads(told[0][1])
    assert (params["audience"], params["holdout"]) == (60, 40)
    assert params["visits_audience"] == "1.00" and params["visits_holdout"] == "0.00"
    assert params["spend_difference"] == "+10.00"


def test_lift_with_too_few_members_says_so(testbot: BotUnderTest) -> None:
    bot = testbot
    sam = bot.person("sam", Role.STAFF)
    _crowd(bot, 9)
    broadcasts = bot.services.broadcasts
    draft = broadcasts.compose(author_id=sam.id, segment_text="all", body="Hi", now=bot.clock.now())
    broadcasts.send_now(draft.broadcast.id, bot.clock.now())
    broadcasts.cancel(draft.broadcast.id, bot.clock.now())
    broadcasts.finish_done(bot.clock.now())
    assert broadcasts.report_lift(bot.clock.now() + timedelta(days=7)) == 1
    told = _rows(bot, "SELECT message_key FROM outbox WHERE dedupe_key = 'broadcast:1:lift7'")
    assert told == [("broadcast.lift_not_enough",)]


def test_line_breaks_in_the_text_reach_members_as_typed(testbot: BotUnderTest) -> None:
    bot = testbot
    bot.person("sam", Role.STAFF)
    _crowd(bot, 2)
    typed = 'Fresh pastries today!\nOpen till 20:00\n\n  "Sam" & the team'
    said = bot.say(f"/broadcast all holdout:0 {typed}", as_="sam")
    assert said.plain.endswith("📣 " + typed)
    assert said.html.endswith("📣 " + typed.replace("&", "&amp;"))
    assert _rows(bot, "SELECT body FROM broadcast") == [(typed,)]
    bot.say("/broadcast send 1", as_="sam")
    params = _rows(bot, "SELECT params FROM outbox WHERE dedupe_key LIKE 'broadcast:1:%'")
    assert {json.loads(row[0])["text"]["$body"] for row in params} == {typed}


def test_lift_counts_visits_by_the_programs_local_day(testbot: BotUnderTest) -> None:
    """Two purchases on one New York evening fall on two UTC days: one visit, not two."""
    bot = testbot
    sam = bot.person("sam", Role.STAFF)
    _crowd(bot, 99)
    broadcasts = bot.services.broadcasts
    draft = broadcasts.compose(
        author_id=sam.id, segment_text="all", body="Come in", now=bot.clock.now(),
        holdout_percent=40,
    )  # fmt: skip
    broadcasts.send_now(draft.broadcast.id, bot.clock.now())
    got = [
        int(r[0]) for r in _rows(bot, "SELECT member_id FROM broadcast_member WHERE NOT holdout")
    ]
    evening = bot.clock.now().replace(hour=23, minute=30) + timedelta(days=1)  # 18:30 in NY
    for n, member_id in enumerate(got):
        for visit, at in enumerate((evening, evening + timedelta(hours=1))):  # 00:30 UTC next
            bot.clock.current = at
            bot.services.loyalty.record_purchase(
                RecordPurchase(member_id=member_id, receipt=f"E-{n}-{visit}", amount_minor=500)
            )
    lift = bot.services.broadcasts.store.lift_sums(
        1, draft.broadcast.created_at, draft.broadcast.created_at + timedelta(days=7)
    )
    audience, holdout = lift
    assert (audience.members, holdout.members) == (60, 40)
    assert audience.sums[0] == 60  # visits: one each
    assert audience.sums[1] == 60 * 1000  # spend: both purchases
