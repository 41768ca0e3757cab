"""Webhook mode, re-delivered updates, and outbox delivery under 429 and 403."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.adapters.telegram_support import (
    HOOK,
    SECRET,
    Harness,
    running_bot,
    until,
    webhook_client,
)
from tests.fakes.telegram_api import FakeTelegramApi, make_command_update

pytest_plugins = ["tests.fakes.fixtures", "tests.adapters.telegram_fixtures"]

ANN, BOB, SAM = 2001, 2002, 2003


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegramApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(fake_telegram, tmp_path) as harness:
        yield harness


client = webhook_client


async def test_webhook_refuses_a_wrong_secret_and_accepts_the_right_one(hooked: Harness) -> None:
    hook = hooked.fake.calls_to("setWebhook")
    assert hook and hook[0].params["url"] == HOOK and hook[0].params["secret_token"] == SECRET
    update = make_command_update(501, ANN, "/start", first_name="Ann")
    async with client(hooked) as http:
        missing = await http.post("/telegram/webhook", json=update)
        wrong = await http.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        assert (missing.status_code, wrong.status_code) == (403, 403)
        member = hooked.services.loyalty.identify("telegram", str(ANN))
        assert member is None and not hooked.fake.sent_messages(ANN)

        good = await http.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert good.status_code == 200
    welcome = await hooked.replies(ANN, 1)
    assert "Welcome to" in (welcome[0].text or "")


async def test_the_same_update_delivered_twice_has_one_effect(hooked: Harness) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with client(hooked) as http:
        await http.post(
            "/telegram/webhook",
            json=make_command_update(601, BOB, "/start", first_name="Bob"),
            headers=headers,
        )
        await hooked.replies(BOB, 1)
        update = make_command_update(602, BOB, "/history", first_name="Bob")
        first = await http.post("/telegram/webhook", json=update, headers=headers)
        await hooked.replies(BOB, 2)
        again = await http.post("/telegram/webhook", json=update, headers=headers)
        assert (first.status_code, again.status_code) == (200, 200)
        # A fresh update after the duplicate proves the duplicate was processed (and skipped).
        await http.post(
            "/telegram/webhook",
            json=make_command_update(603, BOB, "/card", first_name="Bob"),
            headers=headers,
        )
    await until(lambda: hooked.fake.calls_to("sendPhoto"))
    history_replies = [m for m in hooked.fake.sent_messages(BOB) if m.method == "sendMessage"]
    assert len(history_replies) == 2  # the welcome and one /history answer


async def test_a_429_is_waited_out_and_the_message_still_arrives(bot: Harness) -> None:
    bob, sam = await bot.join(BOB, "Bob"), await bot.join(SAM, "Sam")
    bot.fake.fail_next("sendMessage", status=429, retry_after=1)
    await bot.award(bob, 40, "gift-429", by=sam)
    note = await until(
        lambda: [m for m in bot.fake.sent_messages(BOB) if "40 points" in (m.text or "")]
    )
    assert "received 40 points" in (note[0].text or "")
    refused = [c for c in bot.fake.calls_to("sendMessage") if c.status == 429]
    assert len(refused) == 1 and str(refused[0].chat_id) == str(BOB)
    assert await until(
        lambda: [r for r in bot.outbox() if r[3] == "sent" and r[2] == "notify.points_awarded"]
    )


async def test_a_403_marks_the_chat_unreachable_and_stops_sending(bot: Harness) -> None:
    bob, sam = await bot.join(BOB, "Bob"), await bot.join(SAM, "Sam")
    await until(lambda: all(r[3] != "queued" for r in bot.outbox()))
    bot.fake.block_chat(BOB)
    await bot.award(bob, 10, "gift-a", by=sam)
    await until(lambda: [r for r in bot.outbox() if r[3] == "blocked"])
    attempts = len(bot.fake.calls_to("sendMessage"))
    await bot.award(bob, 20, "gift-b", by=sam)
    blocked = await until(
        lambda: (rows := [r for r in bot.outbox() if r[3] == "blocked"]) and len(rows) == 2 and rows
    )
    assert all(r[4] == "unreachable:telegram" for r in blocked)
    assert len(bot.fake.calls_to("sendMessage")) == attempts  # the second one was not attempted

    # Coming back with /start lifts the marker.
    bot.fake.unblock_chat(BOB)
    before = len(bot.fake.sent_messages(BOB))
    bot.command(BOB, "/start", "Bob")
    await bot.replies(BOB, before + 1)
    assert not bot.services.outbox.unreachable(bob.id, "telegram")
    await bot.award(bob, 30, "gift-c", by=sam)
    await until(lambda: [m for m in bot.fake.sent_messages(BOB) if "30 points" in (m.text or "")])


async def test_notifications_respect_the_per_chat_limit(bot: Harness) -> None:
    bob, sam = await bot.join(BOB, "Bob"), await bot.join(SAM, "Sam")
    await until(lambda: all(r[3] != "queued" for r in bot.outbox()))
    bot.fake.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
    for n in range(3):
        await bot.award(bob, 10 + n, f"burst-{n}", by=sam)
    await until(lambda: len([r for r in bot.outbox() if r[3] == "sent"]) >= 3)
    assert not [c for c in bot.fake.calls_to("sendMessage") if c.status == 429]
    times = sorted(m.at for m in bot.fake.sent_messages(BOB) if "You received" in (m.text or ""))
    assert len(times) == 3 and all(b - a >= 0.9 for a, b in itertools.pairwise(times))


async def test_a_polled_read_only_command_writes_no_delivery_row(bot: Harness) -> None:
    """Long polling: /start records its update as handled in its own transaction; /balance
    writes nothing at all (no lease before the command, so it never waits for the writer)."""
    start = bot.command(ANN, "/start", "Ann")
    await bot.replies(ANN, 1)
    balance = bot.command(ANN, "/balance", "Ann")
    await bot.replies(ANN, 2)
    with sqlite3.connect(bot.db_path) as conn:
        rows = dict(conn.execute("SELECT key, state FROM inbound_delivery").fetchall())
    assert rows == {f"tg:{start}": "done"}
    assert f"tg:{balance}" not in rows
