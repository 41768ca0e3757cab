"""429s met by replies (not only by outbox sends) are counted in `/metrics`: a Telegram reply
waited out by the adapter, and a Slack answer waited out by the Web API client. `/metrics` is
read over HTTP and parsed with prometheus-client's own text parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.bootstrap import Services
from bot.metrics import MetricsComponent
from bot.runner import http_app
from tests.adapters.slack_support import running_slack
from tests.adapters.telegram_support import Harness, running_bot
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi

pytest_plugins = ["tests.fakes.fixtures", "tests.fakes.slack_fixtures"]

ANN = 3101


async def _rate_limited(services: Services) -> dict[str, float]:
    """`loyalty_rate_limited_total` by platform, as GET /metrics serves it."""
    app = http_app([MetricsComponent(services.metrics, None)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics.test") as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    return {
        sample.labels["platform"]: sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == "loyalty_rate_limited_total"
    }


@pytest_asyncio.fixture
async def telegram(fake_telegram: FakeTelegramApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(fake_telegram, tmp_path) as harness:
        yield harness


async def test_a_telegram_reply_that_meets_a_429_is_counted(telegram: Harness) -> None:
    await telegram.join(ANN, "Ann")
    assert await _rate_limited(telegram.services) == {}  # nothing met a 429 yet
    telegram.fake.fail_next("sendMessage", status=429, retry_after=1)
    telegram.command(ANN, "/balance")
    replies = await telegram.fake.wait_for_messages(ANN, 2, timeout=15)
    assert "points" in (replies[-1].text or "")
    refused = [c for c in telegram.fake.calls_to("sendMessage") if c.status == 429]
    assert [str(c.chat_id) for c in refused] == [str(ANN)]  # the reply, not an outbox send
    assert await _rate_limited(telegram.services) == {"telegram": 1}


async def test_slack_answers_that_meet_429s_are_counted(
    fake_slack: FakeSlackApi, tmp_path: Path
) -> None:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    now = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    async with running_slack(fake_slack, tmp_path, now) as bot:
        fake_slack.fail_next("chat.postMessage", status=429, retry_after=1, count=2)
        await bot.event(s.message_event("C1", "UALI", "+5 <@UBEA> thanks"))
        # The announcement goes out after two 429s, each waited out by the client.
        await bot.fake.wait_for(lambda: bot.fake.posted_messages("C1"), timeout=15)
        await bot.ephemerals("UALI", 1)
        assert await _rate_limited(bot.services) == {"slack": 2}
