"""Build the PTB Application from settings, pointed at the configured Bot API server."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ApplicationBuilder

from bot.settings import Settings

TelegramApp = Application[Any, Any, Any, Any, Any, Any]
# Updates run concurrently and the dispatcher sends alongside, so allow more connections;
# no more updates at once than connections, or httpcore's pool spends its time queueing.
POOL_SIZE = 32


def build_application(settings: Settings) -> TelegramApp:
    """A PTB Application; raises ValueError without a bot token."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    base = settings.telegram_api_base_url
    file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base
    app: TelegramApp = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(base)
        .base_file_url(file_base)
        .concurrent_updates(POOL_SIZE)
        .connection_pool_size(POOL_SIZE)
        .pool_timeout(10.0)
        .build()
    )
    return app
