"""Pacing for one bot token: an overall budget shared by every worker, a gap per chat, pauses.

The overall budget is a `SendBudget`: in production the `send_budget` row of the token in the
database (storage.send_budget), so that replies, channel posts and the outbox of every worker
together stay under the platform's limit; `LocalBudget` is the same arithmetic in memory, for
one process. A pacer books slots from it a few at a time (as many as it has messages waiting,
up to a sixth of a second's worth), so the database sees one statement per block; a booked
slot that passes unused is simply lost, never used late, so the sum over workers never goes
above the rate.

Per chat, the gap is kept in each worker (a chat's messages mostly come from one worker at a
time); a 429 for a chat pauses that chat, and the send is tried again after `retry_after`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

# Slots booked at once at most: about a sixth of a second of the budget (5 at Telegram's
# 29/s, more at a paid broadcast rate), so a reply waits behind at most that much of another
# worker's outbox, and a fast rate is not held back by one booking statement per 5 slots.
BLOCK_SECONDS = 1 / 6
BLOCK = 5  # the least booked at once (when that many are waiting)
# A slot this late is still used (asyncio wakes up a little late); a later one is dropped.
# At 29/s thirty slots span 1.034 s: what a platform counting arrivals in any second allows
# on top of this lateness for the way to it (rendering, the HTTP client, the scheduler of a
# busy machine) is the rest of those 34 ms. An idle loop wakes up within 5 ms (8,099 of 8,100
# wake-ups in three-worker drains), so 5 ms leaves about 30 ms for the way.
LATE = 0.005


class SendBudget(Protocol):
    """Send slots shared by everything that sends with one bot token."""

    def reserve(self, count: int, gap: float, now: float) -> float:
        """Book `count` slots `gap` seconds apart, none before `now`; the first one's time."""
        ...

    def pause(self, until: float) -> None:
        """No slot before `until`."""
        ...


class LocalBudget:
    """A `SendBudget` in this process only (one worker, or a test)."""

    def __init__(self) -> None:
        self._next = 0.0

    def reserve(self, count: int, gap: float, now: float) -> float:
        """Book `count` slots; the first one's time."""
        first = max(self._next, now)
        self._next = first + count * gap
        return first

    def pause(self, until: float) -> None:
        """No slot before `until`."""
        self._next = max(self._next, until)


class Pacer:
    """Hands out send slots so that neither the shared overall budget nor a chat's gap is
    exceeded. Times are wall-clock seconds (`time.time`): the budget is shared by processes."""

    def __init__(
        self,
        per_second: float,
        per_chat_interval: float,
        budget: SendBudget | None = None,
        clock: Callable[[], float] = time.time,
        *,
        offload: bool = False,
    ) -> None:
        self._gap = 1.0 / per_second
        self._block = max(BLOCK, math.ceil(per_second * BLOCK_SECONDS))
        self._chat_gap = per_chat_interval
        self._budget: SendBudget = budget or LocalBudget()
        # A budget in the database is booked from a worker thread, off the event loop.
        self._offload = offload
        self._clock = clock
        self._slots: deque[float] = deque()
        # Per chat: the outbox's next slot (a gap after the last message, a reply's too),
        # until when a 429 paused it, and the next slot of a reply waiting out that pause.
        self._chat_next: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self._retry_next: dict[str, float] = {}
        self._lock = asyncio.Lock()
        self._waiting = 0
        # Counts `pause` calls: a sender that slept towards a slot booked before a pause takes
        # a new one, or every message already waiting would meet the same 429.
        self._pauses = 0
        self._resume_at = 0.0  # this pacer's own last pause, before the shared budget has it

    @property
    def per_second(self) -> float:
        """The overall rate it paces to."""
        return 1.0 / self._gap

    def chat_ready_in(self, chat: str) -> float:
        """Seconds until `chat` may get its next outbox message (0 when it may now)."""
        due = max(self._chat_next.get(chat, 0.0), self._paused.get(chat, 0.0))
        return max(0.0, due - self._clock())

    def paused_for(self, chat: str) -> float:
        """Seconds `chat` is still paused after a 429 (0 when it is not)."""
        return max(0.0, self._paused.get(chat, 0.0) - self._clock())

    def reserve_chat(self, chat: str) -> float:
        """Book `chat`'s next outbox slot (a gap after its last message); seconds until it."""
        now = self._clock()
        slot = max(now, self._chat_next.get(chat, 0.0), self._paused.get(chat, 0.0))
        self._chat_next[chat] = slot + self._chat_gap
        if len(self._chat_next) > 10_000:  # forget chats whose gap has long passed
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
            self._paused = {c: t for c, t in self._paused.items() if t > now}
            self._retry_next = {c: t for c, t in self._retry_next.items() if t > now}
        return slot - now

    async def wait(self, chat: str, upcoming: int = 1) -> None:
        """Sleep until `chat` may get a message and an overall slot is due (`upcoming`: how
        many messages this caller has waiting, to book a block of slots for them)."""
        delay = self.reserve_chat(chat)
        if delay > 0:
            await asyncio.sleep(delay)
        await self.wait_overall(upcoming)
        # The chat's gap runs from when its message actually goes (the overall slot may come
        # later than the chat's): the next one to it waits a whole gap after this.
        self._chat_next[chat] = max(self._chat_next.get(chat, 0.0), self._clock() + self._chat_gap)

    async def wait_reply(self, chat: str) -> None:
        """Sleep until a reply may go: an overall slot; a chat waits only while it is paused
        (a 429), its replies then one gap apart. A person's own commands set their pace."""
        now = self._clock()
        paused = self._paused.get(chat, 0.0)
        if paused > now:  # the replies waiting out a 429 go one gap apart after it
            slot = max(paused, self._retry_next.get(chat, 0.0))
            self._retry_next[chat] = slot + self._chat_gap
            await asyncio.sleep(slot - now)
        await self.wait_overall(1)
        # An outbox message to this chat waits a gap after the reply.
        self._chat_next[chat] = max(self._chat_next.get(chat, 0.0), self._clock() + self._chat_gap)

    async def wait_overall(self, upcoming: int = 1) -> None:
        """Sleep until this worker's next slot of the shared budget. A busy event loop wakes
        up late: a slot woken up to more than `LATE` after its time is given up, since sending
        late would crowd the slot after it (maybe another worker's), and the platform counts
        arrivals (tests/faults measured 31 in a second without this). The next try books a
        span of slots of its own, as many as the lateness just seen covers: the send may go
        anywhere from the span's first slot to `LATE` after its last (the others stay unused),
        so a loop that keeps waking late still sends, and never more than its slots."""
        span = 1  # slots of its own the next try books (1: a slot of the shared blocks)
        while True:
            pauses = self._pauses
            self._waiting += 1
            try:
                async with self._lock:
                    first, last = await self._next_slots(upcoming, span)
            finally:
                self._waiting -= 1
            delay = first - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._pauses != pauses:
                span = 1
                continue  # a 429 came in meanwhile: these slots were booked before the pause
            late = self._clock() - last
            if late <= LATE:
                return
            # Enough slots to cover a wake-up as late as this one, a block at most.
            span = min(self._block, max(span, 1 + math.ceil((late - LATE) / self._gap)))

    async def _next_slots(self, upcoming: int, span: int) -> tuple[float, float]:
        """The next slot of the shared blocks (`span` 1), or `span` consecutive slots booked
        for one send alone: the first and the last."""
        now = self._clock()
        start = max(now, self._resume_at)
        if span > 1:
            first = await self._reserve(span, start)
            return first, first + (span - 1) * self._gap
        while self._slots and self._slots[0] < now - LATE:
            self._slots.popleft()  # passed unused: using it now would crowd the next one
        if not self._slots:
            count = max(1, min(self._block, max(upcoming, self._waiting)))
            first = await self._reserve(count, start)
            self._slots.extend(first + n * self._gap for n in range(count))
        slot = self._slots.popleft()
        return slot, slot

    async def _reserve(self, count: int, start: float) -> float:
        if self._offload:
            return await asyncio.to_thread(self._budget.reserve, count, self._gap, start)
        return self._budget.reserve(count, self._gap, start)

    def pause_chat(self, chat: str, seconds: float) -> None:
        """Nothing more to `chat` for `seconds` (it got a 429)."""
        until = self._clock() + seconds
        self._paused[chat] = max(self._paused.get(chat, 0.0), until)

    async def pause(self, seconds: float) -> None:
        """Nothing goes out for `seconds`, from any worker (a 429 that may be the token's)."""
        until = self._clock() + seconds
        self._pauses += 1
        self._resume_at = max(self._resume_at, until)
        self._slots.clear()
        if self._offload:
            await asyncio.to_thread(self._budget.pause, until)
        else:
            self._budget.pause(until)
