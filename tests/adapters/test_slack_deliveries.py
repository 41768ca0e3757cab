"""Slack deliveries are kept before bolt acknowledges them: one Slack sends again is
acknowledged and handled once, one whose worker died is taken over when its lease runs out;
announcements share the token's send budget with the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.outbox.dispatcher import Dispatcher
from bot.platforms import platform_components
from tests.adapters.slack_support import SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    async with running_slack(fake_slack, tmp_path, NOW) as harness:
        yield harness


async def test_an_event_slack_sends_again_is_acknowledged_and_handled_once(
    bot: SlackHarness,
) -> None:
    body = s.event_body(s.message_event("C1", "UALI", "+5 <@UBEA> thanks"), "Ev1")
    first = await bot.post(body)
    again = await bot.post(body, retry_num=1, retry_reason="http_timeout")
    assert (first.status_code, again.status_code) == (200, 200)
    await bot.fake.wait_for(lambda: bot.fake.posted_messages("C1"))
    assert await bot.available("UBEA") == 5


async def test_a_kept_event_whose_worker_died_is_taken_over_after_its_lease(
    bot: SlackHarness,
) -> None:
    """Kept (and so acknowledged) by a worker that died before handling it."""
    body = s.event_body(s.message_event("C1", "UALI", "+3 <@UBEA> thanks"), "Ev2")
    inbound = bot.services.inbound
    assert inbound.keep("slack:Ev2", body.decode()) is not None
    assert await bot.component.take_over() == 0  # its lease still runs
    assert await bot.available("UBEA") == 0
    bot.clock.current = NOW + inbound.lease + timedelta(seconds=1)
    assert await bot.component.take_over() == 1
    await bot.fake.wait_for(lambda: bot.fake.posted_messages("C1"))
    assert await bot.available("UBEA") == 3
    assert await bot.component.take_over() == 0  # handled: settled with its gift


async def test_announcements_and_outbox_messages_share_one_budget(bot: SlackHarness) -> None:
    pacer = bot.services.pacers["slack"]
    assert bot.component.listeners.channels is pacer
    components = platform_components(bot.services)
    try:
        dispatchers = [c for c in components if isinstance(c, Dispatcher)]
        assert [d.pacer_for("slack") for d in dispatchers] == [pacer]
    finally:
        for component in components:
            await component.stop()
