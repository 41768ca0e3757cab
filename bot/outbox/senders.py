"""What a platform adapter provides so the dispatcher can reach its members and channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.replies import Reply


class RetryLater(Exception):
    """The platform asked us to slow down; try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(Exception):
    """The person blocked the bot or left; stop writing to them on this platform."""


@dataclass(frozen=True, kw_only=True)
class Destination:
    """Where a message goes on one platform: a person (their private chat; on Slack a direct
    message the sender opens) or a channel or group, by the platform's id."""

    chat: str
    person: bool


class OutboxSender(Protocol):
    """Renders a message for its platform and sends it to one destination there."""

    platform: str
    per_second: float  # overall pace for this platform
    per_chat_interval: float  # seconds between two messages to the same chat

    async def send(self, destination: Destination, reply: Reply, language: str) -> None:
        """Deliver `reply` in `language` (text, buttons, image); raises RetryLater or
        Unreachable."""
        ...
