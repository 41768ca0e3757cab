"""The App Home tab: the numbers a person sees and the redeem buttons that work from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.slack_support import SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    for user in ("UALI", "UBEA", "UCAN"):
        fake_slack.add_user(user, user[1:].lower())
    async with running_slack(fake_slack, tmp_path, NOW, admins="slack:UALI") as harness:
        yield harness


async def give(bot: SlackHarness, giver: str, text: str, reply_id: str, answers: int = 2) -> None:
    await bot.command(giver, text, reply_id)
    await bot.replies(reply_id, answers)


async def open_home(bot: SlackHarness, user: str) -> dict[str, Any]:
    before = len(bot.fake.calls_to("views.publish"))
    await bot.event(s.app_home_opened_event(user))
    calls = await bot.fake.wait_for_call("views.publish", before + 1)
    view: dict[str, Any] = calls[-1].params["view"]
    assert calls[-1].params["user_id"] == user
    return view


def texts(view: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in view["blocks"] if block["type"] == "section"]


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for block in view["blocks"] if block["type"] == "actions" for e in block["elements"]]


async def test_the_home_tab_shows_balance_allowance_top_recent_and_rewards(
    bot: SlackHarness,
) -> None:
    await give(bot, "UALI", "<@UBEA> 5 rescued the demo #teamwork", "a")
    await give(bot, "UCAN", "<@UBEA> 3 thanks", "b")
    await give(bot, "UBEA", "<@UCAN> 2 coffee #ownership", "c")
    view = await open_home(bot, "UBEA")
    assert view["type"] == "home"
    standing, challenges, top, recent, rewards = texts(view)
    assert standing == "⭐ Balance 8 points to spend\n🎁 To give: 48 of 50 left, resets 1 Dec"
    # The member's challenges, as /challenges shows them (Sunday: the week ends tonight).
    assert challenges.startswith("🏁 Your challenges\n☕ Three visits: ░░░░░░░░░░ 0 of 3")
    assert "3 more visits by tonight for 50 points" in challenges
    assert "💳 Spend $30 this month: not joined yet" in challenges
    assert top == "🏆 Top this month:\n1. bea — 8\n2. can — 2"
    assert recent == ("🕘 Recent:\n−2 to can (#ownership)\n+3 from can\n+5 from ali (#teamwork)")
    assert rewards == "🎁 Rewards for your 8 points:"
    assert [(b["text"]["text"], b["value"]) for b in buttons(view)] == [
        ("Redeem: Cookie 150", "/redeem cookie"),
        ("Redeem: Iced tea 300", "/redeem iced-tea"),
        ("Redeem: Free latte 400", "/redeem latte"),
        ("Redeem: Bag of beans 1,200", "/redeem beans"),
    ]
    assert len({b["action_id"] for b in buttons(view)}) == 4  # unique within the view


async def test_a_newcomer_sees_a_full_allowance_and_no_gifts(bot: SlackHarness) -> None:
    view = await open_home(bot, "UCAN")
    standing, _, top, recent, _ = texts(view)
    assert "⭐ Balance 0 points to spend" in standing
    assert "To give: 50 of 50 left, resets 1 Dec" in standing
    assert top.startswith("No kudos yet")
    assert recent.startswith("🕘 No gifts yet")


async def test_a_redeem_button_on_home_asks_to_confirm_and_spends_once(bot: SlackHarness) -> None:
    await bot.command("UALI", "award <@UBEA> 200 great quarter", "award")
    await bot.replies("award", 1)
    view = await open_home(bot, "UBEA")
    cookie = next(b for b in buttons(view) if b["value"] == "/redeem cookie")
    tap = s.block_action_body("UBEA", cookie["action_id"], cookie["value"], view_id="VHOME")
    assert (await bot.post(tap)).status_code == 200
    # No response URL on Home: the confirmation arrives as a direct message with its buttons.
    (dm,) = await bot.fake.wait_for(lambda: bot.fake.posted_messages("DUBEA"))
    assert dm["text"] == "Redeem Cookie for 150 points? You'll have 50 left."
    confirm = next(e for e in dm["blocks"][1]["elements"] if e["value"].startswith("/confirm"))
    for attempt in ("tap1", "tap2"):
        body = s.block_action_body("UBEA", confirm["action_id"], confirm["value"],
                                   response_url=bot.fake.response_url(attempt))  # fmt: skip
        assert (await bot.post(body)).status_code == 200
    first, second = (await bot.replies("tap1", 1))[0], (await bot.replies("tap2", 1))[0]
    assert second.splitlines()[0] == first.splitlines()[0]  # the same voucher
    assert await bot.available("UBEA") == 50
    again = await open_home(bot, "UBEA")
    assert texts(again)[0].startswith("⭐ Balance 50 points to spend")
