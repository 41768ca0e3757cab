"""Replies as Telegram HTML and inline keyboards."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import Renderer
from bot.replies import Button, Reply

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_LIMIT = 64


def html_text(renderer: Renderer, reply: Reply, language: str, limit: int = TEXT_LIMIT) -> str:
    """The reply's lines, HTML-escaped (names and receipts come from users), within `limit`."""
    lines = [html.escape(renderer.line(line, language), quote=False) for line in reply.lines]
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:  # drop whole lines so no entity is cut
        lines.pop()
        text = "\n".join(lines)
    return text[:limit]


def keyboard(renderer: Renderer, reply: Reply, language: str) -> InlineKeyboardMarkup | None:
    """Buttons whose callback data is the chat command they run, or that open their URL."""
    rows = [[key for button in row if (key := _key(renderer, button, language))]
            for row in reply.buttons]  # fmt: skip
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _key(renderer: Renderer, button: Button, language: str) -> InlineKeyboardButton | None:
    label = renderer.line(button.label, language)
    if button.url is not None:
        return InlineKeyboardButton(label, url=button.url)
    if len(button.command.encode()) > CALLBACK_LIMIT:  # Telegram would refuse the whole message
        return None
    return InlineKeyboardButton(label, callback_data=button.command)
