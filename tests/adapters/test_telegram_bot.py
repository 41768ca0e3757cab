"""The Telegram adapter end to end: the real PTB client against the fake Bot API, real SQLite."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core.model import Role
from tests.adapters.telegram_support import Harness, running_bot, until
from tests.fakes.telegram_api import FakeTelegramApi

pytest_plugins = ["tests.fakes.fixtures"]

ANN, BOB, SAM, TUBA = 1001, 1002, 1003, 1004


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegramApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(fake_telegram, tmp_path) as harness:
        yield harness


def buttons(call_params: dict[str, object]) -> list[str]:
    markup = call_params.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_referral_earn_balance_and_notifications(bot: Harness) -> None:
    ann = await bot.join(ANN, "Ann")
    bob = await bot.join(BOB, "Bob", payload=f"ref-{ann.code}")
    assert bob.referred_by == ann.id
    welcome = bot.fake.sent_messages(BOB)[-1].text or ""
    assert "Ann's invitation" in welcome and bob.code in welcome
    # The referrer hears about it through the outbox.
    notes = await bot.replies(ANN, 2)
    assert "Bob joined with your invitation — you get 100 points" in (notes[-1].text or "")

    sam = await bot.grant(await bot.join(SAM, "Sam"), Role.STAFF)
    bot.command(SAM, f"/earn {bob.code} 12.40 R-1", "Sam")
    earned = await bot.replies(SAM, 2)
    assert "Bob earned 12 points" in (earned[-1].text or "")
    assert sam.role is Role.STAFF
    # The staff menu is set for Sam's chat once their role is seen.
    await bot.fake.wait_for(lambda: bot.fake.commands_for({"type": "chat", "chat_id": SAM}))
    staff_menu = [c["command"] for c in bot.fake.commands_for({"type": "chat", "chat_id": SAM})]
    assert "earn" in staff_menu
    assert "earn" not in [c["command"] for c in bot.fake.commands_for()]

    # Bob's first purchase is over the program's $10 minimum: both are paid, pending for the
    # return window, and Ann hears about it through the outbox.
    rewarded = await until(
        lambda: [
            m for m in bot.fake.sent_messages(ANN) if "made their first purchase" in (m.text or "")
        ]
    )
    assert "Bob made their first purchase: 100 points are yours (pending until" in (
        rewarded[-1].text or ""
    )
    bot.command(BOB, "/balance", "Bob")
    balance = await until(
        lambda: [m for m in bot.fake.sent_messages(BOB) if "pending" in (m.text or "")]
    )
    assert "+112 pending" in (balance[-1].text or "")


async def test_refer_gives_a_deep_link_with_a_share_button(bot: Harness) -> None:
    ann = await bot.join(ANN, "Ann")
    count = len(bot.fake.sent_messages(ANN))
    bot.command(ANN, "/refer", "Ann")
    reply = (await bot.replies(ANN, count + 1))[-1]
    payload = "ref-" + ann.code.replace("-", "")
    # The bot's username came from getMe when the adapter started.
    assert f"https://t.me/{bot.fake.bot_user['username']}?start={payload}" in (reply.text or "")
    assert "you both get 100 points" in (reply.text or "")
    markup = reply.params.get("reply_markup") or {}
    assert isinstance(markup, dict)
    urls = [b.get("url", "") for row in markup["inline_keyboard"] for b in row]
    assert urls and urls[0].startswith("https://t.me/share/url?url=https%3A%2F%2Ft.me%2F")
    # The friend follows the link: /start with the payload makes them Ann's referral.
    bob = await bot.join(BOB, "Bob", payload=payload)
    assert bob.referred_by == ann.id


async def test_redeem_confirm_tapped_twice_spends_once(bot: Harness) -> None:
    bob = await bot.join(BOB, "Bob")
    await bot.award(bob, 500, "gift-1")
    bot.command(BOB, "/rewards", "Bob")
    listing = await until(
        lambda: [m for m in bot.fake.sent_messages(BOB) if "What you can get" in (m.text or "")]
    )
    redeem = buttons(listing[-1].params)[0]
    assert redeem.startswith("/redeem ")

    count = len(bot.fake.sent_messages(BOB))
    bot.tap(BOB, redeem, "Bob")
    asked = await bot.replies(BOB, count + 1)
    confirm = next(b for b in buttons(asked[-1].params) if b.startswith("/confirm"))
    available_before = (await asyncio.to_thread(bot.services.loyalty.balance, bob.id)).available

    bot.tap(BOB, confirm, "Bob")
    bot.tap(BOB, confirm, "Bob")
    done = (await bot.replies(BOB, count + 3))[-2:]
    vouchers = {re.search(r"Voucher (\S+),", m.text or "").group(1) for m in done}  # type: ignore[union-attr]
    assert len(vouchers) == 1
    after = await asyncio.to_thread(bot.services.loyalty.balance, bob.id)
    price = int(re.search(r"for (\d+) points", asked[-1].text or "").group(1))  # type: ignore[union-attr]
    assert after.available == available_before - price
    # Every tap was answered, so no client keeps a spinner.
    await until(lambda: len(bot.fake.calls_to("answerCallbackQuery")) == 3)


async def test_a_tap_whose_query_is_too_old_to_answer_still_runs(bot: Harness) -> None:
    await bot.join(BOB, "Bob")
    count = len(bot.fake.sent_messages(BOB))
    bot.fake.fail_next(
        "answerCallbackQuery", status=400, description="Bad Request: query is too old"
    )
    bot.tap(BOB, "/balance", "Bob")
    answer = await bot.replies(BOB, count + 1)
    assert "points" in (answer[-1].text or "")


async def test_bad_numbers_get_the_accepted_format_or_usage(bot: Harness) -> None:
    await bot.grant(await bot.join(SAM, "Sam"), Role.STAFF)
    for text in ("/earn @Sam Infinity", "/earn @Sam 1e30", "/refund R-1 nan", "/history ²",
                 "/history 99999999999999999999"):  # fmt: skip
        bot.command(SAM, text, "Sam")
    texts = [m.text or "" for m in (await bot.replies(SAM, 6))[1:]]
    # Updates run concurrently, so the replies may come in any order.
    amounts = sorted(t for t in texts if t.startswith("I can't read"))
    assert [a.split("“", 1)[1].split("”", 1)[0] for a in amounts] == ["1e30", "Infinity", "nan"]
    assert all("Write it like 12.40, in USD" in a for a in amounts)
    assert sum(t.startswith("Usage: /history") for t in texts) == 2


async def test_card_token_is_accepted_by_staff(bot: Harness) -> None:
    bob = await bot.join(BOB, "Bob")
    await bot.grant(await bot.join(SAM, "Sam"), Role.STAFF)
    bot.command(BOB, "/card", "Bob")
    photo = await until(lambda: bot.fake.calls_to("sendPhoto"))
    assert bob.code in (photo[0].text or "")
    token = bot.services.cards.issue(bob.code)
    assert bot.services.cards.verify(token) == bob.code
    count = len(bot.fake.sent_messages(SAM))
    bot.command(SAM, f"/lookup {token}", "Sam")
    looked = await bot.replies(SAM, count + 1)
    assert f"Bob · {bob.code}" in (looked[-1].text or "")
    bot.command(SAM, f"/earn {token} 5.00 R-9", "Sam")
    earned = await bot.replies(SAM, count + 2)
    assert "Bob earned 5 points" in (earned[-1].text or "")


async def test_bad_arguments_unknown_commands_and_free_text(bot: Harness) -> None:
    await bot.grant(await bot.join(SAM, "Sam"), Role.STAFF)
    bot.command(SAM, "/earn", "Sam")
    bot.command(SAM, "/earn ABC twelve", "Sam")
    bot.command(SAM, "/frobnicate", "Sam")
    texts = [m.text or "" for m in (await bot.replies(SAM, 4))[1:]]
    assert sum(t.startswith("Usage: /earn") for t in texts) == 1
    assert any(t.startswith("I can't read “twelve” as an amount") for t in texts)
    assert any("I don't know /frobnicate" in t for t in texts)
    bot.fake.push_update(
        {
            "message": {
                "message_id": 99,
                "date": 0,
                "text": "hello <b>",
                "chat": {"id": SAM, "type": "private"},
                "from": {"id": SAM, "is_bot": False, "first_name": "Sam"},
            }
        }
    )
    hint = await bot.replies(SAM, 5)
    assert "I understand commands like /balance" in (hint[-1].text or "")


async def test_turkish_user_gets_turkish(bot: Harness) -> None:
    await bot.join(TUBA, "Tuba", language="tr")
    assert "programına hoş geldiniz" in (bot.fake.sent_messages(TUBA)[-1].text or "")
    bot.command(TUBA, "/balance", "Tuba", language="tr")
    reply = await bot.replies(TUBA, 2)
    assert "puan" in (reply[-1].text or "")


async def test_names_are_html_escaped(bot: Harness) -> None:
    await bot.join(ANN, "<b>Ann</b>")
    sent = bot.fake.sent_messages(ANN)[-1]
    assert sent.params.get("parse_mode") == "HTML"
    assert "&lt;b&gt;Ann&lt;/b&gt;" in (sent.text or "")


async def test_an_unexpected_error_is_logged_and_answered_once(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(key: str, platform: str, external_id: str) -> bool:
        raise RuntimeError("database down")

    monkeypatch.setattr(bot.services.loyalty, "admit", broken)
    update_id = bot.command(ANN, "/balance")
    apology = await bot.replies(ANN, 1)
    assert "Sorry, something went wrong" in (apology[0].text or "")
    assert any(f"update {update_id} failed" in r.getMessage() for r in caplog.records)


async def test_a_read_only_command_runs_on_the_event_loop_and_a_writing_one_in_a_worker(
    bot: Harness,
) -> None:
    """On a SQLite file (WAL: reads never wait) a read-only command runs where its update
    arrived, with no hop to a worker thread; a command that writes still hops."""
    threads: dict[str, str] = {}
    observer = bot.services.router.observer

    def seen(command: str, outcome: str, seconds: float) -> None:
        threads[command] = threading.current_thread().name
        if observer is not None:
            observer(command, outcome, seconds)

    bot.services.router.observer = seen
    loop_thread = threading.current_thread().name
    await bot.join(ANN, "Ann")
    count = len(bot.fake.sent_messages(ANN))
    bot.command(ANN, "/balance", "Ann")
    reply = (await bot.replies(ANN, count + 1))[-1]
    assert "points" in (reply.text or "")
    assert bot.services.database.reads_never_wait
    assert threads["balance"] == loop_thread
    assert threads["start"] != loop_thread
