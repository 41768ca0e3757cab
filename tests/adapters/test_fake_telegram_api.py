"""The fake Bot API works with the real python-telegram-bot client."""

import asyncio
import datetime as dtm
import io
import time

import aiohttp
import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import Forbidden, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import (
    FakeTelegramApi,
    UploadedFile,
    make_callback_update,
    make_command_update,
)

pytest_plugins = ["tests.fakes.fixtures"]  # provides the fake_telegram fixture

TOKEN = "123456:TEST-token"


def make_bot(fake: FakeTelegramApi) -> ApplicationBuilder:  # type: ignore[type-arg]
    """An ApplicationBuilder aimed at the fake."""
    return (
        ApplicationBuilder().token(TOKEN).base_url(fake.base_url).base_file_url(fake.base_file_url)
    )


async def test_get_me_send_message_and_photo(fake_telegram: FakeTelegramApi) -> None:
    app = make_bot(fake_telegram).updater(None).build()
    async with app:
        me = await app.bot.get_me()
        assert me.username == "loyalty_test_bot"
        assert me.is_bot
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Redeem", callback_data="r:1")]])
        first = await app.bot.send_message(42, "hello", reply_markup=markup)
        second = await app.bot.send_message(42, "again")
        photo = await app.bot.send_photo(42, io.BytesIO(b"\x89PNG" + b"0" * 100), caption="qr")
        await app.bot.send_message(7, "other chat")

    assert (first.message_id, second.message_id, photo.message_id) == (1, 2, 3)
    assert first.chat.id == 42 and first.text == "hello" and first.reply_markup == markup
    assert photo.caption == "qr" and photo.photo
    assert fake_telegram.calls_to("getMe")[0].token == TOKEN
    sent = fake_telegram.sent_messages(42)
    assert [c.text for c in sent] == ["hello", "again", "qr"]
    assert sent[0].params["chat_id"] == 42
    assert sent[0].params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Redeem", "callback_data": "r:1"}]]
    }
    upload = sent[2].params["photo"]
    assert isinstance(upload, UploadedFile) and upload.size == 104
    assert len(fake_telegram.sent_messages()) == 4


async def test_polling_command_and_callback_round_trip(fake_telegram: FakeTelegramApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        button = InlineKeyboardButton("Yes", callback_data="yes")
        await update.effective_message.reply_text(
            f"welcome {context.args}", reply_markup=InlineKeyboardMarkup([[button]])
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"you said {query.data}")

    app = make_bot(fake_telegram).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            fake_telegram.push_update(make_command_update(1, 555, "/start ref_abc", username="a"))
            [reply] = await fake_telegram.wait_for_messages(555, 1)
            assert reply.text == "welcome ['ref_abc']"
            fake_telegram.push_update(make_callback_update(2, 555, "yes", message_id=1))
            messages = await fake_telegram.wait_for_messages(555, 2)
        finally:  # `async with app` does not stop a running app; shutdown would raise
            await app.updater.stop()
            await app.stop()

    assert messages[1].method == "editMessageText" and messages[1].text == "you said yes"
    assert fake_telegram.calls_to("answerCallbackQuery")[0].params["callback_query_id"] == "cbq2"
    assert fake_telegram.calls_to("deleteWebhook")  # PTB's polling bootstrap
    # The final getUpdates on stop confirms everything that was processed.
    assert fake_telegram.calls_to("getUpdates")[-1].params["offset"] == 3
    assert fake_telegram.pending_updates == []


async def test_long_poll_waits_for_pushed_update(fake_telegram: FakeTelegramApi) -> None:
    app = make_bot(fake_telegram).updater(None).build()
    async with app:
        assert await app.bot.get_updates(timeout=0) == ()
        started = time.monotonic()
        poll = asyncio.create_task(app.bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        fake_telegram.push_update(make_command_update(fake_telegram.next_update_id(), 1, "/help"))
        [update] = await poll
        assert 0.2 <= time.monotonic() - started < 2
        assert update.message is not None and update.message.text == "/help"
        # Unconfirmed updates are returned again until an offset confirms them.
        assert len(await app.bot.get_updates()) == 1
        assert await app.bot.get_updates(offset=update.update_id + 1) == ()


async def test_429_raises_retry_after(
    fake_telegram: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # opt in to 23's timedelta, avoids a warning
    fake_telegram.fail_next("sendMessage", status=429, retry_after=7)
    app = make_bot(fake_telegram).updater(None).build()
    async with app:
        with pytest.raises(RetryAfter) as excinfo:
            await app.bot.send_message(1, "too fast")
        await app.bot.send_message(1, "later")  # only the next call fails
    assert excinfo.value.retry_after == dtm.timedelta(seconds=7)
    assert fake_telegram.too_many_requests == 1
    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [429, 200]


async def test_blocked_chat_raises_forbidden(fake_telegram: FakeTelegramApi) -> None:
    fake_telegram.block_chat(99)
    app = make_bot(fake_telegram).updater(None).build()
    async with app:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(99, "hi")
        await app.bot.send_message(100, "hi")
    assert fake_telegram.sent_messages(99) == []
    assert len(fake_telegram.sent_messages(100)) == 1


async def test_enforce_rate_per_chat(
    fake_telegram: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.__init__ itself warns otherwise
    fake_telegram.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
    app = make_bot(fake_telegram).updater(None).build()
    async with app:
        await app.bot.send_message(5, "one")
        await app.bot.send_message(6, "other chat is fine")
        with pytest.raises(RetryAfter) as excinfo:
            await app.bot.send_message(5, "two")
    assert excinfo.value.retry_after == dtm.timedelta(seconds=1)
    assert fake_telegram.too_many_requests == 1
    assert fake_telegram.peak_sends(5) == 1 and len(fake_telegram.send_times()) == 2


async def test_set_my_commands_per_scope(fake_telegram: FakeTelegramApi) -> None:
    app = make_bot(fake_telegram).updater(None).build()
    scope = BotCommandScopeAllPrivateChats()
    async with app:
        await app.bot.set_my_commands([BotCommand("balance", "Show points")], scope=scope)
        await app.bot.set_my_commands([BotCommand("start", "Start")], language_code="de")
        assert [c.command for c in await app.bot.get_my_commands(scope=scope)] == ["balance"]
        assert await app.bot.get_my_commands() == ()
    [call] = fake_telegram.calls_to("setMyCommands")[:1]
    assert call.params["scope"] == {"type": "all_private_chats"}
    assert call.params["commands"] == [{"command": "balance", "description": "Show points"}]
    assert fake_telegram.commands_for({"type": "all_private_chats"})[0]["command"] == "balance"
    assert fake_telegram.commands_for(language_code="de")[0]["command"] == "start"


async def test_webhook_recorded(fake_telegram: FakeTelegramApi) -> None:
    app = make_bot(fake_telegram).updater(None).build()
    async with app:
        await app.bot.set_webhook("https://example.test/tg", secret_token="s3cret")
        info = await app.bot.get_webhook_info()
        assert info.url == "https://example.test/tg"
        await app.bot.delete_webhook()
    assert fake_telegram.calls_to("setWebhook")[0].params["secret_token"] == "s3cret"
    assert fake_telegram.webhook == {}


async def test_wait_for_times_out_with_recorded_calls(fake_telegram: FakeTelegramApi) -> None:
    with pytest.raises(AssertionError, match="0 recorded calls"):
        await fake_telegram.wait_for(lambda: fake_telegram.calls_to("sendMessage"), timeout=0.1)


def test_run_in_thread_with_sync_wait() -> None:
    with FakeTelegramApi.run_in_thread() as fake:

        async def client() -> None:
            app = make_bot(fake).updater(None).build()
            async with app:
                await app.bot.send_message(3, "from another loop")

        asyncio.run(client())
        [message] = fake.wait_for_sync(lambda: fake.sent_messages(3), timeout=5)
        assert message.text == "from another loop"


async def test_enforce_rate_global_burst(
    fake_telegram: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake_telegram.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
    app = make_bot(fake_telegram).updater(None).build()
    async with app:
        sends = [app.bot.send_message(chat_id, "promo") for chat_id in range(1, 41)]
        results = await asyncio.gather(*sends, return_exceptions=True)
    assert sum(isinstance(r, RetryAfter) for r in results) == 10
    assert fake_telegram.too_many_requests == 10
    assert fake_telegram.peak_sends() == 30


async def test_json_body_and_unknown_method(fake_telegram: FakeTelegramApi) -> None:
    url = f"{fake_telegram.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as session:
        body = {"chat_id": 8, "text": "123", "reply_markup": {"inline_keyboard": []}}
        async with session.post(f"{url}/sendMessage", json=body) as response:
            assert (await response.json())["result"]["message_id"] == 1
        async with session.get(f"{url}/setChatMenuButton") as response:
            assert await response.json() == {"ok": True, "result": True}
    [sent] = fake_telegram.sent_messages(8)
    assert sent.params == body
    assert fake_telegram.calls_to("setChatMenuButton")
