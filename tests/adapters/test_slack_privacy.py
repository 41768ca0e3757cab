"""Privacy and files on Slack: /card and /export upload files into the person's DM; after
/forget, nothing in the database names them and a later message does not enrol them again;
the kudos leaderboard honours `/settings leaderboard off`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import String, Text, text

from storage import tables
from tests.adapters.slack_support import SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
ZUL, NAME = "UZUL9Q", "zuleika"


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UDAN", "dan")
    fake_slack.add_user(ZUL, NAME, real_name="Zuleika Quell")
    async with running_slack(fake_slack, tmp_path, NOW) as harness:
        yield harness


def _mentions(bot: SlackHarness, needle: str) -> list[str]:
    """Every `table.column` (text columns of every table) holding `needle`, any case."""
    found = []
    with bot.services.database.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, Text | String):
                    query = text(
                        f"SELECT COUNT(*) FROM {table.name} WHERE lower({column.name}) LIKE :n"
                    )
                    if conn.execute(query, {"n": f"%{needle.lower()}%"}).scalar():
                        found.append(f"{table.name}.{column.name}")
    return found


async def _identified(bot: SlackHarness, user: str) -> bool:
    import asyncio

    return await asyncio.to_thread(bot.services.loyalty.identify, "slack", user) is not None


async def test_card_and_export_arrive_as_files_in_the_dm(bot: SlackHarness) -> None:
    await bot.command("UALI", f"<@{ZUL}> 5 thanks {NAME} #teamwork", "gift")
    await bot.replies("gift", 2)
    await bot.loyalty(ZUL, "card", "card")
    card = await bot.fake.wait_for(lambda: [f for f in bot.fake.files if f.filename == "card.png"])
    assert card[0].channel == f"D{ZUL}" and card[0].data.startswith(b"\x89PNG")
    await bot.loyalty(ZUL, "export", "export")
    (export,) = await bot.fake.wait_for(
        lambda: [f for f in bot.fake.files if f.filename.endswith(".json")]
    )
    assert export.channel == f"D{ZUL}"
    data = json.loads(export.data)
    assert [j["kind"] for j in data["journals"]] == ["recognize"]
    assert data["gifts"][0]["reason"].startswith(f"thanks {NAME}")


async def test_after_forget_no_table_names_them_and_slack_does_not_enrol_them(
    bot: SlackHarness,
) -> None:
    await bot.command("UALI", f"<@{ZUL}> 5 thanks {NAME} #teamwork", "gift")
    await bot.replies("gift", 2)
    await bot.event(s.message_event("C1", ZUL, "+3 <@UALI> great pairing, from Zuleika"))
    await bot.fake.wait_for(lambda: len(bot.fake.posted_messages("C1")) == 1)
    reports = bot.services.reports
    assert reports is not None
    liability = reports.for_text("month").section("liability").data["liability_points"]
    assert _mentions(bot, ZUL) and _mentions(bot, NAME)

    await bot.loyalty(ZUL, "forget", "ask")
    (asked,) = await bot.fake.wait_for(lambda: bot.fake.responses_to("ask"))
    tap = next(
        element["value"]
        for block in asked["blocks"]
        for element in block.get("elements", [])
        if str(element.get("value", "")).startswith("/forget me ")
    )
    await bot.loyalty(ZUL, tap.removeprefix("/"), "done")
    assert "data is erased" in (await bot.replies("done", 1))[0]

    for needle in (ZUL, NAME, "Zuleika Quell"):
        assert _mentions(bot, needle) == [], needle
    after = reports.for_text("month").section("liability").data["liability_points"]
    assert after == liability == 8
    # A later message, a gift to them and a reaction do not bring the member back.
    await bot.event(s.message_event("C1", ZUL, "+2 <@UALI> again"))
    await bot.command("UALI", f"<@{ZUL}> 2 thanks again", "again")
    refused = await bot.replies("again", 1)
    assert any("not in the program" in answer for answer in refused), refused
    assert not await _identified(bot, ZUL)
    assert _mentions(bot, ZUL) == []
    # Only their own /start brings them back.
    await bot.loyalty(ZUL, "start", "back")
    await bot.replies("back", 1)
    assert await _identified(bot, ZUL)


async def test_the_kudos_leaderboard_leaves_out_who_opted_out(bot: SlackHarness) -> None:
    await bot.command("UDAN", "<@UALI> 5 thanks #teamwork", "g1")
    await bot.replies("g1", 2)
    await bot.command("UALI", "<@UDAN> 3 thanks #teamwork", "g2")
    await bot.replies("g2", 2)
    await bot.command("UDAN", "leaderboard", "before")
    (before,) = await bot.replies("before", 1)
    assert "ali — 5" in before and "dan — 3" in before
    await bot.loyalty("UALI", "settings leaderboard off", "off")
    await bot.replies("off", 1)
    await bot.command("UDAN", "leaderboard", "after")
    (after,) = await bot.replies("after", 1)
    assert "ali" not in after and "1. dan — 3" in after
