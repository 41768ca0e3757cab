"""What a platform adapter provides so the dispatcher can reach its members."""

from __future__ import annotations

from typing import Protocol

from core.model import Identity


class RetryLater(Exception):
    """The platform asked us to slow down; try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(Exception):
    """The person blocked the bot or left; stop writing to them on this platform."""


class OutboxSender(Protocol):
    """Sends one rendered notification to one identity on one platform."""

    platform: str
    per_second: float  # overall pace for this platform
    per_chat_interval: float  # seconds between two messages to the same chat

    async def send(self, identity: Identity, text: str) -> None:
        """Deliver `text`; raises RetryLater or Unreachable."""
        ...
