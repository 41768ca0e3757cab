"""Buttons under messages the outbox posts on Slack: a command button runs its command for
the person who taps it; a link button opens its page, and Slack's tap is only acknowledged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.outbox.dispatcher import Dispatcher
from bot.slack.app import web_client
from bot.slack.blocks import LINK_PREFIX
from bot.slack.sender import SlackSender
from core.outbox import MessageButton, OutboxMessage, Recipient
from tests.adapters.slack_support import TOKEN, SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
OFFER = "https://coffee.example/offers"


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UBEA", "bea")
    async with running_slack(fake_slack, tmp_path, NOW) as harness:
        yield harness


async def test_buttons_of_a_direct_message_run_their_command_or_open_their_link(
    bot: SlackHarness,
) -> None:
    await bot.loyalty("UBEA", "balance", "joined")  # Bea joins by using the bot
    await bot.replies("joined", 1)
    member = bot.services.loyalty.identify("slack", "UBEA")
    assert member is not None
    message = OutboxMessage(
        recipient=Recipient.member(member.id),
        key="notify.points_awarded",
        params={"points": 50, "reason": "the survey"},
        dedupe_key="survey:1",
        buttons=(
            (
                MessageButton(label="button.balance", command="/balance"),
                MessageButton(label="button.rewards", url=OFFER),
            ),
        ),
    )
    bot.services.database.run(lambda uow: uow.outbox.add(message, NOW))
    services = bot.services
    dispatcher = Dispatcher(services.outbox, services.database, services.renderer, bot.clock)
    dispatcher.register(SlackSender(web_client(TOKEN, bot.fake.api_url), services.renderer))
    assert await dispatcher.run_once() == 1
    (dm,) = bot.fake.posted_messages("DUBEA")
    run, link = dm["blocks"][1]["elements"]
    assert (run["value"], link["url"], link["action_id"]) == (
        "/balance",
        OFFER,
        LINK_PREFIX + OFFER,
    )

    tapped = s.block_action_body(
        "UBEA", run["action_id"], run["value"], response_url=bot.fake.response_url("tap")
    )
    assert (await bot.post(tapped)).status_code == 200
    assert (await bot.replies("tap", 1))[0].startswith("⭐ 0 points")
    opened = s.block_action_body(
        "UBEA", link["action_id"], "", response_url=bot.fake.response_url("open")
    )
    assert (await bot.post(opened)).status_code == 200
    assert bot.fake.responses_to("open") == []  # nothing to say: the browser opened the page
