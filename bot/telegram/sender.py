"""The Telegram OutboxSender: one HTML message to a member's private chat."""

from __future__ import annotations

import html
import warnings
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.outbox.senders import RetryLater, Unreachable
from core.model import Identity

PLATFORM = "telegram"


class TelegramSender:
    """Sends notifications; 429 becomes RetryLater, 403 (blocked) becomes Unreachable."""

    platform = PLATFORM
    # Just under Telegram's ~30/s; replies to commands draw on the same Pacer (see component).
    per_second = 29.0
    per_chat_interval = 1.0

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, identity: Identity, text: str) -> None:
        """Deliver `text` to the identity's private chat."""
        try:
            await self._bot.send_message(
                int(identity.external_id), html.escape(text, quote=False), parse_mode=ParseMode.HTML
            )
        except RetryAfter as error:
            with warnings.catch_warnings():  # int today, timedelta later: both handled below
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise RetryLater(seconds) from error
        except Forbidden as error:
            raise Unreachable(str(error)) from error
