"""Replies as Telegram HTML and inline keyboards."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import Renderer
from bot.replies import Reply

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
    """Buttons whose callback data is the chat command they run."""
    rows = [
        [
            InlineKeyboardButton(
                renderer.line(button.label, language), callback_data=button.command
            )
            for button in row
            if len(button.command.encode()) <= CALLBACK_LIMIT
        ]
        for row in reply.buttons
    ]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None
