"""Answers in each person's language; deliveries kept to once by their own id; bots give
nothing; `/loyalty /balance` is `/loyalty balance`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.slack.app import web_client
from bot.slack.giving import Giving
from bot.slack.people import Person, SlackPeople
from core.model import Member, Role
from tests.adapters.slack_support import TOKEN, SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    fake_slack.add_user("BHELPER", "helper-app", is_bot=True)
    async with running_slack(fake_slack, tmp_path, NOW) as harness:
        yield harness


async def test_a_member_who_chose_turkish_is_answered_in_turkish(bot: SlackHarness) -> None:
    await bot.loyalty("UALI", "balance", "before")
    assert "points" in (await bot.replies("before", 1))[0]
    await bot.loyalty("UALI", "settings language tr", "set")
    await bot.replies("set", 1)
    await bot.loyalty("UALI", "balance", "loyalty")
    (loyalty,) = await bot.replies("loyalty", 1)
    assert "puan" in loyalty and "points" not in loyalty
    await bot.command("UALI", "balance", "kudos")
    (kudos,) = await bot.replies("kudos", 1)
    assert kudos == (
        "⭐ Harcanabilir bakiye: 0 puan\n"
        "🎁 Verilebilir: 50 puanın 50 puanı kaldı, 1 Ara tarihinde yenilenir"
    )
    await bot.command("UALI", "<@UBEA> 5 thanks", "gift")
    public, private = await bot.replies("gift", 2)
    assert "received 5 points" in public  # the channel reads the workspace language
    assert "puan" in private and "points" not in private
    await bot.command("UBEA", "balance", "other")  # others keep the workspace language
    assert (await bot.replies("other", 1))[0].startswith("⭐ Balance 5 points to spend")


async def test_home_is_shown_in_the_members_language(bot: SlackHarness) -> None:
    await bot.loyalty("UBEA", "settings language tr", "set")
    await bot.replies("set", 1)
    await bot.event(s.app_home_opened_event("UBEA"))
    (call,) = await bot.fake.wait_for_call("views.publish", 1)
    blocks = call.params["view"]["blocks"]
    assert blocks[0]["text"]["text"].startswith("⭐ Harcanabilir bakiye: 0 puan")


async def test_loyalty_takes_a_subcommand_with_a_leading_slash(bot: SlackHarness) -> None:
    await bot.loyalty("UALI", "balance", "plain")
    await bot.loyalty("UALI", "/balance", "slashed")
    plain, slashed = (await bot.replies("plain", 1))[0], (await bot.replies("slashed", 1))[0]
    assert slashed == plain
    assert "don't know" not in slashed


async def test_a_command_without_a_trigger_id_is_refused(
    bot: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    fields = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "UALI",
        "command": "/kudos",
        "text": "<@UBEA> 5 thanks",
        "response_url": bot.fake.response_url("nokey"),
    }
    with caplog.at_level(logging.ERROR):
        assert (await bot.post(s.form_body(fields))).status_code == 200
        (answer,) = await bot.replies("nokey", 1)
    assert answer.startswith("Sorry, something went wrong on our side")
    assert "without an event or trigger id" in caplog.text
    assert await bot.available("UBEA") == 0


async def test_reactions_by_bots_and_apps_give_and_take_nothing(
    bot: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    ts = s.new_ts()
    with caplog.at_level(logging.ERROR):
        await bot.event(s.reaction_added_event("BHELPER", "star", "C1", ts, "UBEA"))
        await bot.event(s.reaction_removed_event("BHELPER", "star", "C1", ts, "UBEA"))
        await bot.event(s.message_event("C1", "BHELPER", "+5 <@UBEA> beep"))
        await bot.event(s.reaction_added_event("UALI", "taco", "C1", ts, "UBEA"))  # a sentinel
        assert len(await bot.ephemerals("UALI", 1)) == 1
    assert await bot.available("UBEA") == 1
    assert [c.params["user"] for c in bot.fake.calls_to("chat.postEphemeral")] == ["UALI"]
    assert bot.fake.posted_messages("C1") == []
    assert caplog.records == []


def test_the_slack_locale_counts_until_the_member_chooses(bot: SlackHarness) -> None:
    people = SlackPeople(web_client(TOKEN, bot.fake.api_url), bot.services.loyalty, None)
    giving = Giving(bot.kudos(), people, bot.services.renderer, "en")
    turkish_client = Person("UX", "x", None, False, None, "tr-TR")
    assert giving.language_of(turkish_client) == "tr"
    chose_english = Member(
        id=1, code="K7Q-4MX2", display_name="x", role=Role.MEMBER, language="en", created_at=NOW
    )
    assert giving.language_of(turkish_client, chose_english) == "en"
    giving.language = "tr"  # a Turkish workspace
    assert giving.language_of(Person("UY", "y", None, False, None, "de-DE")) == "tr"
    assert giving.language_of(None) == "tr"  # the workspace's
