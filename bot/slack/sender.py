"""The Slack OutboxSender: a direct message to a member, opened with conversations.open."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.senders import RetryLater, Unreachable
from bot.slack.people import PLATFORM
from bot.slack.retry import retry_after
from core.model import Identity

# Errors that mean this person cannot be written to, so retrying would never help.
_UNREACHABLE = frozenset({"user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot"})
# When Slack (or something in front of it) answers without its JSON, wait this long.
SERVER_TROUBLE_WAIT = 30.0


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
