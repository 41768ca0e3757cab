"""The Telegram OutboxSender: HTML text with an inline keyboard, or a photo with a caption, to
a member's private chat or to a group."""

from __future__ import annotations

import asyncio
import hashlib
import warnings
from datetime import timedelta

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.outbox.senders import Destination, RetryLater, Unreachable
from bot.render import Renderer
from bot.replies import Reply
from bot.telegram.render import CAPTION_LIMIT, TEXT_LIMIT, html_text, keyboard

PLATFORM = "telegram"
# Telegram keeps an uploaded photo: later messages send its file id instead of the bytes.
MAX_KNOWN_PHOTOS = 1_000


class TelegramSender:
    """Sends outbox messages; 429 becomes RetryLater, 403 (blocked) becomes Unreachable."""

    platform = PLATFORM
    # Just under Telegram's ~30/s; the pacer in use is the token's shared one (bootstrap).
    per_second = 29.0
    per_chat_interval = 1.0

    def __init__(self, bot: Bot, renderer: Renderer) -> None:
        self._bot = bot
        self._renderer = renderer
        self._photo_ids: dict[str, str] = {}
        self._uploads: dict[str, asyncio.Lock] = {}

    async def send(self, destination: Destination, reply: Reply, language: str) -> None:
        """Deliver `reply` to the destination's chat."""
        chat = _chat_id(destination.chat)
        markup = keyboard(self._renderer, reply, language)
        try:
            if reply.image_png is None:
                text = html_text(self._renderer, reply, language, TEXT_LIMIT)
                await self._bot.send_message(
                    chat, text, parse_mode=ParseMode.HTML, reply_markup=markup
                )
                return
            caption = html_text(self._renderer, reply, language, CAPTION_LIMIT)
            digest = hashlib.sha256(reply.image_png).hexdigest()
            # Several messages are in flight at once: the first with a new image uploads it,
            # the others wait for its file id instead of uploading it again.
            uploading = self._uploads.setdefault(digest, asyncio.Lock())
            async with uploading:
                known = self._photo_ids.get(digest)
                if known is None:
                    sent = await self._bot.send_photo(
                        chat,
                        reply.image_png,
                        caption=caption,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                    )
                    self._remember_photo(digest, sent)
                    return
            self._uploads.pop(digest, None)
            await self._bot.send_photo(
                chat, known, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except RetryAfter as error:
            raise RetryLater(retry_seconds(error)) from error
        except Forbidden as error:
            raise Unreachable(str(error)) from error

    def _remember_photo(self, digest: str, sent: Message) -> None:
        if digest in self._photo_ids or not sent.photo:
            return
        if len(self._photo_ids) >= MAX_KNOWN_PHOTOS:  # dicts keep insertion order: drop the oldest
            del self._photo_ids[next(iter(self._photo_ids))]
        self._photo_ids[digest] = sent.photo[-1].file_id


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait (`parameters.retry_after` of its 429)."""
    with warnings.catch_warnings():  # int today, timedelta later: both handled below
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _chat_id(chat: str) -> int | str:
    """A numeric chat id (a person or a group), or a public channel's @username."""
    try:
        return int(chat)
    except ValueError:
        return chat
