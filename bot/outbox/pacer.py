"""Pacing for one platform: an overall rate and a minimum gap per chat, plus pauses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """Hands out send slots so that neither the overall nor any per-chat limit is exceeded."""

    def __init__(
        self,
        per_second: float,
        per_chat_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gap = 1.0 / per_second
        self._chat_gap = per_chat_interval
        self._clock = clock
        self._next = 0.0
        self._chat_next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    def chat_ready_in(self, chat: str) -> float:
        """Seconds until `chat` may get its next message (0 when it may now)."""
        return max(0.0, self._chat_next.get(chat, 0.0) - self._clock())

    def reserve(self, chat: str) -> float:
        """Book the earliest slot for `chat` (slots are handed out in order); seconds until it."""
        now = self._clock()
        slot = max(now, self._next, self._chat_next.get(chat, 0.0))
        self._next = slot + self._gap
        self._chat_next[chat] = slot + self._chat_gap
        if len(self._chat_next) > 10_000:  # forget chats whose gap has long passed
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        return slot - now

    async def wait(self, chat: str) -> None:
        """Sleep until a slot for `chat` is due."""
        async with self._lock:
            delay = self.reserve(chat)
        if delay > 0:
            await asyncio.sleep(delay)

    def spend(self) -> None:
        """Use up an overall slot without waiting: a reply to someone who is waiting for it.

        Replies go first; the notifications sharing this budget slow down to make room.
        """
        self._next = max(self._clock(), self._next) + self._gap

    def pause(self, seconds: float) -> None:
        """Nothing goes out for `seconds` (a 429 from the platform stops every chat)."""
        self._next = max(self._next, self._clock() + seconds)
