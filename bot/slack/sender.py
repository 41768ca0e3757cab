"""The Slack OutboxSender: a direct message to a member, opened with conversations.open."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.senders import RetryLater, Unreachable
from bot.slack.people import PLATFORM
from core.model import Identity

# Errors that mean this person cannot be written to, so retrying would never help.
_UNREACHABLE = frozenset({"user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot"})


class SlackSender:
    """Sends notifications as DMs; 429 becomes RetryLater, a gone user becomes Unreachable."""

    platform = PLATFORM
    # chat.postMessage allows about one message per second per channel (each person's DM is
    # one): a generous workspace-wide pace, and the 1 s gap per channel is what counts.
    per_second = 20.0
    per_chat_interval = 1.0

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def send(self, identity: Identity, text: str) -> None:
        """Deliver `text` to the identity's direct-message channel."""
        try:
            opened = await self._client.conversations_open(users=identity.external_id)
            channel = str((opened.get("channel") or {}).get("id", ""))
            await self._client.chat_postMessage(channel=channel, text=text)
        except SlackApiError as error:
            if error.response.status_code == 429:
                retry_after = error.response.headers.get("Retry-After", "1")
                raise RetryLater(float(retry_after)) from error
            if error.response.get("error") in _UNREACHABLE:
                raise Unreachable(str(error.response.get("error"))) from error
            raise
