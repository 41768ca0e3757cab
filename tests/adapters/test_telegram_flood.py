"""Replies under Telegram's flood limits, against the fake Bot API answering 429 with
`parameters.retry_after`: a reply that meets a 429 is sent again after the wait, a burst of
commands gets every reply, nothing is logged as an unexpected error and no apology goes into
a flood-limited chat."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.telegram.adapter import REPLY_ATTEMPTS
from tests.adapters.telegram_support import Harness, running_bot, until
from tests.fakes.telegram_api import FakeTelegramApi

pytest_plugins = ["tests.fakes.fixtures"]

ANN = 3001


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegramApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(fake_telegram, tmp_path) as harness:
        yield harness


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _balance_calls(fake: FakeTelegramApi) -> list[tuple[int, float]]:
    """(status, time) of every sendMessage of a /balance reply to Ann (the welcome is not)."""
    return [
        (call.status, call.at)
        for call in fake.calls_to("sendMessage")
        if str(call.chat_id) == str(ANN) and "Welcome" not in (call.params.get("text") or "")
    ]


async def test_a_reply_that_meets_a_429_arrives_after_the_wait(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.join(ANN, "Ann")
    bot.fake.fail_next("sendMessage", status=429, retry_after=1)
    bot.command(ANN, "/balance")
    replies = await bot.fake.wait_for_messages(ANN, 2, timeout=15)
    assert "points" in (replies[-1].text or "")
    (refused, refused_at), (sent, sent_at) = _balance_calls(bot.fake)
    assert (refused, sent) == (429, 200)
    assert sent_at - refused_at >= 1.0  # sent again only after retry_after
    assert _errors(caplog) == []


async def test_a_burst_of_ten_commands_gets_ten_replies(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake allows one message a second per chat: nine of the ten replies meet a 429 at
    first and go again, one after the other."""
    await bot.join(ANN, "Ann")
    bot.fake.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
    for _ in range(10):
        bot.command(ANN, "/balance")
    await bot.fake.wait_for_messages(ANN, 11, timeout=60)
    sent = [status for status, _ in _balance_calls(bot.fake) if status == 200]
    assert len(sent) == 10
    assert _errors(caplog) == []


async def test_no_apology_goes_into_a_chat_that_stays_flood_limited(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.join(ANN, "Ann")
    bot.fake.fail_next("sendMessage", status=429, retry_after=1, count=REPLY_ATTEMPTS)
    bot.command(ANN, "/balance")
    await until(lambda: len(_balance_calls(bot.fake)) >= REPLY_ATTEMPTS, timeout=30)
    update_done = "stayed flood-limited"
    await until(lambda: any(update_done in r.getMessage() for r in caplog.records), timeout=10)
    calls = [c for c in bot.fake.calls_to("sendMessage") if str(c.chat_id) == str(ANN)]
    assert [c.status for c in calls[1:]] == [429] * REPLY_ATTEMPTS  # no apology after them
    assert _errors(caplog) == []
