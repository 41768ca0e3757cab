"""The outbox: messages the bot sends on its own initiative, queued in a business transaction.

A message is a catalog key with parameters (never text), optional buttons and an image, for a
member (delivered on their preferred reachable platform) or for a channel, in a category
(`core.categories`) and under a dedupe key. The dispatcher claims due rows, decides per row
(send, skip, defer) and records what happened in its status.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from core import categories

if TYPE_CHECKING:
    from core.delivery import Audience

LINK_SCHEMES = ("https://", "http://", "tg://")


class OutboxStatus(StrEnum):
    """What happened to a queued message."""

    QUEUED = "queued"  # waiting to be sent (or being sent under a lease)
    SENT = "sent"
    FAILED = "failed"  # given up; `last_error` says why
    BLOCKED = "blocked"  # the recipient blocked the bot or left: unreachable there
    SKIPPED = "skipped"  # the member opted out of the message's category
    DEFERRED = "deferred"  # quiet hours: due again at the first minute after they end


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """A member, or a channel (a Slack channel, a Telegram group) on one platform."""

    member_id: int | None = None
    platform: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        as_member = self.member_id is not None and self.platform is None and self.channel is None
        as_channel = self.member_id is None and bool(self.platform) and bool(self.channel)
        if not (as_member or as_channel):
            raise ValueError("a recipient is a member id, or a platform and a channel")

    @classmethod
    def member(cls, member_id: int) -> Recipient:
        """A member, reached on their preferred reachable platform."""
        return cls(member_id=member_id)

    @classmethod
    def in_channel(cls, platform: str, channel: str) -> Recipient:
        """A channel or group on `platform` (its id there)."""
        return cls(platform=platform, channel=channel)


@dataclass(frozen=True, kw_only=True)
class MessageButton:
    """A button under a message: it runs a chat command, or opens a URL."""

    label: str  # catalog key
    label_params: dict[str, object] = field(default_factory=dict)
    command: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ValueError("a button runs a command or opens a URL, not both or neither")
        # Telegram refuses a whole message over one bad link, so a bad one never gets queued.
        if self.url is not None and not self.url.startswith(LINK_SCHEMES):
            raise ValueError(f"a button links to http(s) or tg: pages, not {self.url!r}")


@dataclass(frozen=True, kw_only=True)
class OutboxImage:
    """An image stored once by the digest of its bytes, however many messages show it."""

    content_type: str
    data: bytes = field(repr=False)

    @property
    def digest(self) -> str:
        """The SHA-256 of the bytes: the image's reference in outbox rows."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, kw_only=True)
class OutboxMessage:
    """A message to queue in the current transaction (once per `dedupe_key`)."""

    recipient: Recipient
    key: str  # catalog key of the text
    dedupe_key: str
    params: dict[str, object] = field(default_factory=dict)
    category: str = categories.TRANSACTIONAL
    buttons: tuple[tuple[MessageButton, ...], ...] = ()
    image: OutboxImage | None = None
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        if not categories.is_known(self.category):
            raise ValueError(f"unknown message category {self.category!r}")


@dataclass(frozen=True, kw_only=True)
class QueuedMessage:
    """An outbox row claimed for sending; the image is a digest until the sender needs it."""

    id: int
    recipient: Recipient
    key: str
    params: dict[str, object]
    category: str
    buttons: tuple[tuple[MessageButton, ...], ...]
    image_digest: str | None
    attempts: int


class OutboxQueue(Protocol):
    """Claiming and settling outbox rows; each call is its own short transaction."""

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[QueuedMessage]:
        """Due queued or deferred rows, hidden from other claimers until `lease_until`."""
        ...

    def image(self, digest: str) -> OutboxImage | None: ...
    def mark_sent(self, message_id: int, now: datetime) -> None: ...

    def audiences(self, member_ids: list[int]) -> dict[int, Audience]:
        """The members behind a batch of rows, read together (one missing is gone)."""
        ...

    def mark_all_sent(self, sent: list[tuple[int, datetime]]) -> None:
        """Several rows delivered (id, when), in one transaction."""
        ...

    def requeue(
        self, message_id: int, not_before: datetime, error: str, failed: bool = True
    ) -> None:
        """Offer the row again at `not_before`; `failed=False` (paced, or the platform asked
        us to wait) does not count the claim as an attempt."""
        ...

    def defer(self, message_id: int, until: datetime, reason: str) -> None:
        """Quiet hours: due again at `until`, and the claim is no attempt."""
        ...

    def mark_failed(self, message_id: int, error: str) -> None: ...

    def mark_skipped(self, message_id: int, reason: str) -> None:
        """Not sent because the member opted out; never counted as a failure."""
        ...

    def mark_blocked(self, message_id: int, platform: str) -> None:
        """The recipient is unreachable on `platform`: a member gets no row there until cleared."""
        ...

    def unreachable(self, member_id: int, platform: str) -> bool: ...

    def clear_unreachable(self, member_id: int, platform: str) -> None:
        """The member talks to the bot again on `platform`, so it may write to them again."""
        ...
