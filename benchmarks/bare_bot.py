"""The baseline bot: a bare python-telegram-bot Application answering every command with a fixed
text, with the same client settings and polling as `loyalty run` (bot/telegram/app.py and
component.py). Run it as `python -m benchmarks.bare_bot` with TELEGRAM_BOT_TOKEN and
TELEGRAM_API_BASE_URL set; it stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.telegram.app import POOL_SIZE
from bot.telegram.component import UPDATES

REPLY = "You have 600 points."


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        await context.bot.send_message(message.chat_id, REPLY)


async def main() -> None:
    base = os.environ["TELEGRAM_API_BASE_URL"]
    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(base)
        .base_file_url(base.removesuffix("/bot") + "/file/bot")
        .concurrent_updates(POOL_SIZE)
        .connection_pool_size(POOL_SIZE)
        .pool_timeout(10.0)
        .build()
    )
    app.add_handler(MessageHandler(filters.COMMAND, answer))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await app.initialize()
    await app.bot.delete_webhook()
    assert app.updater is not None
    await app.updater.start_polling(timeout=10, allowed_updates=UPDATES)
    await app.start()
    try:
        await stop.wait()
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
