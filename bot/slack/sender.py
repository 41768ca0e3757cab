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
from bot.slack.retry import retry_after

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
# When Slack (or something in front of it) answers without its JSON, wait this long.
SERVER_TROUBLE_WAIT = 30.0
# Direct-message channel ids remembered (a person's DM with the bot keeps its id): beyond
# this many people, all are forgotten and opened again.
MAX_KNOWN_DIRECT = 10_000


class SlackSender:
    """Sends outbox messages; 429 becomes RetryLater, a gone user or channel Unreachable.

    Block Kit shows only images at public URLs, so a message's image follows its text as an
    uploaded file (files_upload_v2).
    """

    platform = PLATFORM
    # chat.postMessage allows about one message per second per channel (each person's DM is
    # one): a generous workspace-wide pace, and the 1 s gap per channel is what counts.
    per_second = 20.0
    per_chat_interval = 1.0

    def __init__(self, client: AsyncWebClient, renderer: Renderer) -> None:
        self._client = client
        self._renderer = renderer
        # conversations.open answers the same channel for a person every time: opened once,
        # a direct message costs one Web API call instead of two.
        self._direct: dict[str, str] = {}

    async def send(self, destination: Destination, reply: Reply, language: str) -> None:
        """Deliver `reply` as a direct message or a channel post."""
        text = self._renderer.text(reply, language)
        blocks = blocks_for(self._renderer, reply, language) if reply.buttons else None
        try:
            channel = destination.chat
            if destination.person:
                channel = await self._direct_channel(destination.chat)
            await self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            if reply.image_png is not None:  # Block Kit cannot show it: it follows as a file
                await self._client.files_upload_v2(
                    channel=channel, file=reply.image_png, filename="image.png", title=text[:80]
                )
        except SlackApiError as error:
            if destination.person:  # opened afresh next time
                self._direct.pop(destination.chat, None)
            response = error.response
            if response.status_code == 429:
                raise RetryLater(retry_after(response.headers)) from error
            code = response.data.get("error") if isinstance(response.data, dict) else None
            if code in _UNREACHABLE:
                raise Unreachable(str(code)) from error
            if code is None and response.status_code >= 500:  # an outage, or a proxy's page
                raise RetryLater(SERVER_TROUBLE_WAIT) from error
            if code is None:  # not Slack's JSON: counts as a failed attempt, without a trace
                raise RuntimeError(
                    f"Slack answered HTTP {response.status_code} without JSON"
                ) from None
            raise

    async def _direct_channel(self, user_id: str) -> str:
        """The person's direct-message channel with the bot, opened once."""
        known = self._direct.get(user_id)
        if known is not None:
            return known
        opened = await self._client.conversations_open(users=user_id)
        channel = str((opened.get("channel") or {}).get("id", ""))
        if channel:
            if len(self._direct) >= MAX_KNOWN_DIRECT:
                self._direct.clear()
            self._direct[user_id] = channel
        return channel
