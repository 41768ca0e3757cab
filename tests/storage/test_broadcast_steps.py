"""Composing a broadcast step by step in chat, through the real router and storage on SQLite
and PostgreSQL: `/broadcast` alone asks for the segment (buttons or typed), then the text, and
ends with the one-line form's preview; other commands work meanwhile, `/cancel` leaves, a
lapsed session is dropped, and a second worker on the same database carries on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bot.bootstrap import build
from bot.settings import Settings
from core.model import Role
from tests.testbot import BotUnderTest

TEXT = "Double points this weekend!\nSaturday and Sunday only"


def _rows(bot: BotUnderTest, sql: str) -> list[tuple[Any, ...]]:
    with bot.services.database.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def _staff(bot: BotUnderTest, members: int = 4) -> None:
    bot.person("sam", Role.STAFF)
    for n in range(members):
        bot.person(f"m{n}")


def test_segment_then_text_ends_as_the_one_line_form(testbot: BotUnderTest) -> None:
    bot = testbot
    _staff(bot)
    asked = bot.say("/broadcast", as_="sam")
    assert asked.keys == ["broadcast.steps.segment"] and "Who should get it?" in asked.plain
    assert asked.buttons == [
        "/broadcast to all",
        "/broadcast to green",
        "/broadcast to silver",
        "/broadcast to gold",
        "/broadcast to inactive:30",
        "/broadcast to lang:en",
        "/broadcast to lang:tr",
        "/broadcast to platform:telegram",
        "/broadcast to platform:slack",
    ]
    chosen = bot.say("/broadcast to all", as_="sam")  # the "Everyone" button
    assert chosen.keys == ["broadcast.steps.text"] and "To all, 10% held back" in chosen.plain
    stepped = bot.say(TEXT, as_="sam")
    one_line = bot.say(f"/broadcast all {TEXT}", as_="sam")
    assert stepped.plain == one_line.plain.replace("#2", "#1")
    assert stepped.buttons == [b.replace(" 2", " 1") for b in one_line.buttons]
    assert stepped.plain.endswith("📣 " + TEXT)
    assert _rows(bot, "SELECT id, segment, body, holdout_percent, status FROM broadcast") == [
        (1, "all", TEXT, 10, "draft"),
        (2, "all", TEXT, 10, "draft"),
    ]
    # Done: the next message is ordinary chat again, and Send now works as always.
    assert bot.say("hello again", as_="sam").keys == ["free_text"]
    assert "on its way to 4 members (1 held back)" in bot.say("/broadcast send 1", as_="sam").plain


def test_a_typed_segment_with_a_holdout_and_bad_input_in_between(testbot: BotUnderTest) -> None:
    bot = testbot
    _staff(bot)
    bot.say("/settings language tr", as_="m0")
    bot.say("/broadcast", as_="sam")
    wrong = bot.say("nobody", as_="sam")
    assert len(wrong.reply.lines) == 1 and "I don't know the segment “nobody”" in wrong.plain
    too_big = bot.say("all holdout:90", as_="sam")
    assert len(too_big.reply.lines) == 1 and "from 0 to 50" in too_big.plain
    chosen = bot.say("green+lang:tr holdout:0", as_="sam")
    assert "To green+lang:tr, 0% held back" in chosen.plain
    long = bot.say("x" * 5000, as_="sam")  # over every platform's limit
    assert long.keys == ["line.too_long"]
    preview = bot.say("Merhaba!", as_="sam")
    assert "1 member." in preview.plain and preview.plain.endswith("📣 Merhaba!")
    assert _rows(bot, "SELECT segment, holdout_percent FROM broadcast") == [("green+lang:tr", 0)]
    assert _rows(bot, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'broadcast:%'") == [(0,)]


def test_other_commands_work_while_composing_and_cancel_leaves(testbot: BotUnderTest) -> None:
    bot = testbot
    _staff(bot)
    bot.say("/broadcast", as_="sam")
    bot.say("/broadcast to gold", as_="sam")
    assert "points" in bot.say("/balance", as_="sam").plain  # runs as usual
    assert bot.say("just chatting", as_="m1").keys == ["free_text"]  # others are not composing
    left = bot.say("/cancel", as_="sam")
    assert left.plain == "Stopped composing the broadcast. Nothing was saved or sent."
    assert bot.say("Our text", as_="sam").keys == ["free_text"]
    assert bot.say("/cancel", as_="sam").keys == ["redeem.cancelled"]  # as it always was
    assert _rows(bot, "SELECT COUNT(*) FROM broadcast") == [(0,)]
    assert _rows(bot, "SELECT COUNT(*) FROM broadcast_compose") == [(0,)]


def test_a_forgotten_session_lapses(testbot: BotUnderTest) -> None:
    bot = testbot
    _staff(bot)
    bot.say("/broadcast", as_="sam")
    bot.say("/broadcast to all", as_="sam")
    bot.clock.advance(minutes=29)
    bot.say("/broadcast to silver", as_="sam")  # each step gives another 30 minutes
    bot.clock.advance(minutes=29)
    assert "To silver" not in bot.say("/balance", as_="sam").plain
    bot.clock.advance(minutes=2)
    lapsed = bot.say("Hello everyone", as_="sam")
    assert lapsed.keys == ["broadcast.steps.expired"] and "over 30 minutes" in lapsed.plain
    assert bot.say("Hello everyone", as_="sam").keys == ["free_text"]
    assert _rows(bot, "SELECT COUNT(*) FROM broadcast") == [(0,)]


def test_only_staff_compose_and_a_demoted_author_stops(testbot: BotUnderTest) -> None:
    bot = testbot
    _staff(bot)
    assert bot.say("/broadcast", as_="m0").keys == ["denied.staff"]
    bot.say("/broadcast", as_="sam")
    bot.say("/broadcast to all", as_="sam")
    bot.services.loyalty.set_role(bot.member("sam").code, Role.MEMBER)
    assert bot.say("Free coffee for all", as_="sam").keys == ["free_text"]
    assert _rows(bot, "SELECT COUNT(*) FROM broadcast") == [(0,)]


def test_another_worker_carries_the_session_on(testbot: BotUnderTest, migrated_url: str) -> None:
    """The state is in the database: a second app on it (another worker, or this one after a
    restart) continues where the first left off."""
    bot = testbot
    _staff(bot)
    bot.say("/broadcast", as_="sam")
    bot.say("/broadcast to gold", as_="sam")
    settings = Settings(_env_file=None, database_url=migrated_url, loyalty_env="development")  # type: ignore[call-arg]
    other = build(settings, clock=bot.clock, migrate=False)
    try:
        second = BotUnderTest(other, bot.clock)
        preview = second.say("Gold members: a free pastry today", as_="sam")
        assert preview.keys == ["broadcast.preview", "broadcast.message"]
        assert "to gold: 0 members" in preview.plain
    finally:
        other.close()
    assert bot.say("Gold members: a free pastry today", as_="sam").keys == ["free_text"]
