"""The Slack OutboxSender: text and Block Kit buttons, as a direct message (opened with
conversations.open) or a post in a channel."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.senders import Destination, RetryLater, Unreachable
from bot.render import Renderer
from bot.replies import Reply
from bot.slack.blocks import blocks_for
from bot.slack.people import PLATFORM

# Errors that mean this person or channel cannot be written to, so retrying would never help.
_UNREACHABLE = frozenset(
    {
        "user_not_found",
        "account_inactive",
        "user_disabled",
        "cannot_dm_bot",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
    }
)


class SlackSender:
    """Sends outbox messages; 429 becomes RetryLater, a gone user or channel Unreachable.

    Images are not sent on Slack (Block Kit shows only images at public URLs); the text and
    buttons are.
    """

    platform = PLATFORM
    # chat.postMessage allows about one message per second per channel (each person's DM is
    # one): a generous workspace-wide pace, and the 1 s gap per channel is what counts.
    per_second = 20.0
    per_chat_interval = 1.0

    def __init__(self, client: AsyncWebClient, renderer: Renderer) -> None:
        self._client = client
        self._renderer = renderer

    async def send(self, destination: Destination, reply: Reply, language: str) -> None:
        """Deliver `reply` as a direct message or a channel post."""
        text = self._renderer.text(reply, language)
        blocks = blocks_for(self._renderer, reply, language) if reply.buttons else None
        try:
            channel = destination.chat
            if destination.person:
                opened = await self._client.conversations_open(users=destination.chat)
                channel = str((opened.get("channel") or {}).get("id", ""))
            await self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as error:
            if error.response.status_code == 429:
                retry_after = error.response.headers.get("Retry-After", "1")
                raise RetryLater(float(retry_after)) from error
            if error.response.get("error") in _UNREACHABLE:
                raise Unreachable(str(error.response.get("error"))) from error
            raise
