"""The dispatcher's view of the outbox: claim due messages and record how sending went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class QueuedMessage:
    """An outbox row claimed for sending."""

    id: int
    member_id: int
    kind: str
    params: dict[str, object]
    attempts: int


class OutboxQueue(Protocol):
    """Claiming and settling outbox rows; each call is its own short transaction."""

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[QueuedMessage]:
        """Due queued rows, hidden from other claimers until `lease_until` (then offered again)."""
        ...

    def mark_sent(self, message_id: int, now: datetime) -> None: ...
    def requeue(
        self, message_id: int, not_before: datetime, error: str, failed: bool = True
    ) -> None:
        """Offer the row again at `not_before`; `failed=False` (paced, or the platform asked
        us to wait) does not count the claim as an attempt."""
        ...

    def mark_failed(self, message_id: int, error: str) -> None: ...

    def mark_blocked(self, message_id: int, platform: str) -> None:
        """The member is unreachable on `platform`: no row is sent there until cleared."""
        ...

    def unreachable(self, member_id: int, platform: str) -> bool: ...

    def clear_unreachable(self, member_id: int, platform: str) -> None:
        """The member talks to the bot again on `platform`, so it may write to them again."""
        ...
