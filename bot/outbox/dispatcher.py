"""The outbox dispatcher: claims due rows in batches, decides for each whether it may go now
(opt-outs, quiet hours), and sends it through the platform's sender, paced."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.routing import BaseRoute

from bot.outbox.pacer import Pacer
from bot.outbox.senders import Destination, OutboxSender, RetryLater, Unreachable
from bot.render import Renderer
from bot.replies import Button, Line, Reply
from core.delivery import Audience, verdict
from core.model import Identity
from core.outbox import OutboxImage, OutboxQueue, QueuedMessage
from core.ports import Clock, Database

log = logging.getLogger(__name__)

BATCH = 100
# Long enough for a batch to go out at 30/s; after a crash the rows are offered again then.
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
# Messages being read, rendered, sent and marked sent at once by one worker (across batches),
# at most: also the most a crash can leave sent but not marked sent (so sent again after it).
IN_FLIGHT = 8
# Seconds a message keeps its place among the sends under way: from its slot to the
# platform's answer (tens of ms to Telegram's servers); its "sent" mark comes after, outside
# them. By Little's law a platform paced at `rate` needs about rate * this many sends under
# way to keep up, and more only queue up behind the pacer, already holding their slots: at
# 29/s that is 3, not 8.
SEND_SECONDS = 0.1
# A broadcast shows one image to many members: keep the last few in memory.
CACHED_IMAGES = 16
NO_PLATFORM = "none"  # settled before a platform was chosen (opted out, no such member)


def sends_under_way(per_second: float) -> int:
    """How many messages to a platform paced at `per_second` may be between their slot and
    their settlement at once: enough to keep the pace, never more than `IN_FLIGHT`."""
    return max(1, min(IN_FLIGHT, math.ceil(per_second * SEND_SECONDS)))


class SentMarks:
    """Sent marks written together (a group commit): the first waits for no one; the marks
    that come in while its transaction runs go in the next one, all at once. Each sender waits
    for the commit that has its row, holding its place among the sends under way until then,
    so no more than those are ever sent and not yet marked (what a crash can send twice)."""

    def __init__(self, queue: OutboxQueue) -> None:
        self._queue = queue
        self._waiting: list[tuple[int, datetime, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, message_id: int, at: datetime) -> None:
        """Mark the row sent; back once that is committed (or raising why it was not)."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((message_id, at, written))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="outbox-sent-marks")
        await written

    async def finish(self) -> None:
        """Let the marks under way be written (stopping)."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                rows = [(message_id, at) for message_id, at, _ in group]
                try:
                    await asyncio.to_thread(self._queue.mark_all_sent, rows)
                except Exception as error:
                    outcome: BaseException | None = error
                else:
                    outcome = None
                for _, _, written in group:
                    if written.done():  # its sender was cancelled (stopping)
                        continue
                    if outcome is None:
                        written.set_result(None)
                    else:
                        written.set_exception(outcome)
        finally:
            self._writer = None


@dataclass(frozen=True)
class _Batch:
    """Claimed rows and the members they go to."""

    messages: list[QueuedMessage]
    audiences: dict[int, Audience]


class Dispatcher:
    """A runner Component that drains the outbox while the bot runs."""

    def __init__(
        self,
        queue: OutboxQueue,
        database: Database,
        renderer: Renderer,
        clock: Clock,
        idle_seconds: float = 1.0,
        channel_language: str | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self._queue = queue
        self._database = database
        self._renderer = renderer
        self._clock = clock
        self._idle = idle_seconds
        self._lease = lease
        # Channels read the program's language (its `locale`), as its announcements do.
        self._channel_language = renderer.catalogs.language_for(channel_language)
        self._senders: dict[str, OutboxSender] = {}
        self._pacers: dict[str, Pacer] = {}
        self._sending: dict[str, asyncio.Semaphore] = {}
        # Messages between their claim's read and their settlement, across batches
        # (IN_FLIGHT), in the event loop that drains (tests run one loop after another).
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._marks = SentMarks(queue)
        self._images: dict[str, OutboxImage | None] = {}
        self._wake = asyncio.Event()
        # Messages of the batches under way still to send: the pacer books that many slots at
        # once (a block at most).
        self._upcoming = 0
        self._under_way: set[int] = set()  # ids of the rows this worker is settling
        self._task: asyncio.Task[None] | None = None
        # Told (platform, category, status) of every message settled, e.g. by bot.metrics.
        self.observer: Callable[[str, str, str], None] | None = None

    def _count(self, platform: str, message: QueuedMessage, status: str) -> None:
        if self.observer is not None:
            self.observer(platform, message.category, status)

    def register(self, sender: OutboxSender, pacer: Pacer | None = None) -> None:
        """Send on `sender.platform` through `sender` (for members: first registered, first
        tried). `pacer` shares one send budget with the adapter's own replies, when it has one."""
        self._senders[sender.platform] = sender
        pacer = pacer or Pacer(sender.per_second, sender.per_chat_interval)
        self._pacers[sender.platform] = pacer
        self._sending[sender.platform] = asyncio.Semaphore(sends_under_way(pacer.per_second))

    def pacer_for(self, platform: str) -> Pacer:
        """The send budget messages to `platform` draw on."""
        return self._pacers[platform]

    @property
    def platforms(self) -> list[str]:
        """The platforms it can send to."""
        return list(self._senders)

    def routes(self) -> list[BaseRoute]:
        """No HTTP routes."""
        return []

    async def start(self) -> None:
        """Start draining in the background."""
        self._task = asyncio.create_task(self._loop(), name="outbox-dispatcher")

    async def stop(self) -> None:
        """Stop after the current send; unsent rows stay queued for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self._marks.finish()

    def wake(self) -> None:
        """Look at the outbox now instead of after the idle pause."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch and settle every message in it; how many were claimed."""
        return await self._settle(await self._claim())

    async def _claim(self) -> _Batch:
        """Claim due rows, and read who they go to together (a few queries, not five per
        message): an opt-out made while the batch goes out (seconds) counts from the next
        batch on."""
        now = self._clock.now()
        batch = await asyncio.to_thread(self._queue.claim, now, now + self._lease, BATCH)
        ids = {m.recipient.member_id for m in batch if m.recipient.member_id is not None}
        members = sorted(ids)
        audiences = await asyncio.to_thread(self._queue.audiences, members) if members else {}
        return _Batch(batch, audiences)

    async def _settle(self, claimed: _Batch, on_last: Callable[[], None] | None = None) -> int:
        """Settle every message of a claimed batch; `on_last` is called once its last message
        got its place among the messages in flight (the loop claims the next batch then)."""
        # A row whose lease ran out while this worker still settles it (a lease shorter than
        # a batch takes) comes back in a batch claimed meanwhile: it is under way already.
        batch = [m for m in claimed.messages if m.id not in self._under_way]
        audiences = claimed.audiences
        self._under_way.update(m.id for m in batch)
        self._upcoming += len(batch)
        gate = self._in_flight()
        started = 0

        async def deliver(message: QueuedMessage) -> None:
            nonlocal started
            # A few messages in flight at once (IN_FLIGHT, across batches): while one waits
            # for the database or the platform, the next is read and rendered. The pacer
            # still hands out the slots one by one, and fewer of them are sent at once when
            # the platform's rate is low (`sends_under_way`).
            async with gate:
                started += 1
                if started == len(batch) and on_last is not None:
                    on_last()
                try:
                    await self._deliver(message, audiences)
                finally:
                    self._upcoming -= 1
                    self._under_way.discard(message.id)

        if not batch and on_last is not None:
            on_last()
        outcomes = await asyncio.gather(*(deliver(m) for m in batch), return_exceptions=True)
        for message, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):  # the row stays claimed: offered again later
                log.error("outbox %s could not be settled", message.id, exc_info=outcome)
        return len(claimed.messages)

    def _in_flight(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(IN_FLIGHT))
        return self._gate[1]

    async def _loop(self) -> None:
        # A full batch suggests more: the next one is claimed as soon as this one's last
        # message has its place among those in flight, and its messages take the places
        # this one's free. So no send slot passes unused at a batch boundary waiting for a
        # claim, an audience read and the last round trips and marks, while the sends under
        # way (`_sending`, per platform) and the messages in flight (`_gate`) stay bounded
        # across batches.
        settling: set[asyncio.Task[int]] = set()
        try:
            while True:
                try:
                    claimed = await self._claim()
                except Exception:
                    log.exception("outbox batch failed; retrying shortly")
                    claimed = _Batch([], {})
                if not claimed.messages:
                    if settling:  # the last rows may be requeued for soon: look again then
                        await asyncio.wait(settling)
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle)
                    self._wake.clear()
                    continue
                last_started = asyncio.Event()
                task = asyncio.create_task(self._settle(claimed, last_started.set))
                settling.add(task)
                task.add_done_callback(settling.discard)
                if len(claimed.messages) < BATCH:
                    await task
                    continue
                started = asyncio.create_task(last_started.wait())
                try:
                    await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    started.cancel()
        finally:
            for task in settling:
                task.cancel()
            if settling:
                await asyncio.gather(*settling, return_exceptions=True)

    async def _deliver(self, message: QueuedMessage, audiences: dict[int, Audience]) -> None:
        recipient = message.recipient
        if recipient.member_id is None:
            await self._to_channel(message, str(recipient.platform), str(recipient.channel))
            return
        audience = audiences.get(recipient.member_id)
        if audience is None:
            await asyncio.to_thread(self._queue.mark_failed, message.id, "no such member")
            self._count(NO_PLATFORM, message, "failed")
            return
        zone = audience.zone(self._renderer.zone)
        decision = verdict(message.category, audience.preferences, zone, self._clock.now())
        if decision.skip is not None:
            await asyncio.to_thread(self._queue.mark_skipped, message.id, decision.skip)
            self._count(NO_PLATFORM, message, "skipped")
        elif decision.defer_until is not None:
            await asyncio.to_thread(
                self._queue.defer, message.id, decision.defer_until, "quiet_hours"
            )
            self._count(NO_PLATFORM, message, "deferred")
        else:
            await self._to_member(message, audience)

    async def _to_member(self, message: QueuedMessage, audience: Audience) -> None:
        """Send on the member's first reachable platform; blocked when every one is blocked."""
        blocked_on: str | None = None
        for identity in self._ordered(audience.identities):
            if identity.platform in audience.unreachable:
                blocked_on = blocked_on or identity.platform
                continue
            language = self._renderer.catalogs.reader_language(
                audience.member.language, identity.language
            )
            destination = Destination(chat=identity.external_id, person=True)
            await self._send(message, identity.platform, destination, language)
            return
        if blocked_on is not None:
            await asyncio.to_thread(self._queue.mark_blocked, message.id, blocked_on)
            self._count(blocked_on, message, "blocked")
        else:
            await asyncio.to_thread(self._queue.mark_failed, message.id, "no reachable identity")
            self._count(NO_PLATFORM, message, "failed")

    async def _to_channel(self, message: QueuedMessage, platform: str, channel: str) -> None:
        """A channel reads the program's language; opt-outs and quiet hours are members'."""
        if platform not in self._senders:
            error = f"no sender for {platform}"
            await asyncio.to_thread(self._queue.mark_failed, message.id, error)
            self._count(platform, message, "failed")
            return
        destination = Destination(chat=channel, person=False)
        await self._send(message, platform, destination, self._channel_language)

    async def _send(
        self, message: QueuedMessage, platform: str, destination: Destination, language: str
    ) -> None:
        busy = self._pacers[platform].chat_ready_in(destination.chat)
        if busy > 0:  # this chat had a message moments ago: come back instead of holding others
            later = self._clock.now() + timedelta(seconds=busy)
            await asyncio.to_thread(self._queue.requeue, message.id, later, "paced", False)
            return
        reply = await self._reply(message)
        await self._paced_send(message, platform, destination, language, reply)

    async def _paced_send(
        self,
        message: QueuedMessage,
        platform: str,
        destination: Destination,
        language: str,
        reply: Reply,
    ) -> None:
        sender, pacer, queue = self._senders[platform], self._pacers[platform], self._queue
        try:
            # Under way from the slot to the platform's answer; the row is settled after,
            # outside them (a slow commit holds no slot back), still within the gate.
            async with self._sending[platform]:
                await pacer.wait(destination.chat, max(1, self._upcoming))
                await sender.send(destination, reply, language)
        except RetryLater as wait:
            # The chat's limit or the token's: neither this chat nor any worker sends for now.
            pacer.pause_chat(destination.chat, wait.seconds)
            await pacer.pause(wait.seconds)
            later = self._clock.now() + timedelta(seconds=wait.seconds)
            await asyncio.to_thread(queue.requeue, message.id, later, str(wait), False)
            self._count(platform, message, "rate_limited")
        except Unreachable:
            log.info("outbox %s: %s is unreachable on %s", message.id, destination.chat, platform)
            await asyncio.to_thread(queue.mark_blocked, message.id, platform)
            self._count(platform, message, "blocked")
        except Exception as error:
            log.warning(
                "outbox %s: sending failed (attempt %d)",
                message.id,
                message.attempts,
                exc_info=True,
            )
            if message.attempts >= MAX_ATTEMPTS:
                await asyncio.to_thread(queue.mark_failed, message.id, repr(error))
                self._count(platform, message, "failed")
            else:
                later = self._clock.now() + timedelta(seconds=2**message.attempts)
                await asyncio.to_thread(queue.requeue, message.id, later, repr(error)[:500])
        else:
            await self._marks.mark(message.id, self._clock.now())
            self._count(platform, message, "sent")

    async def _reply(self, message: QueuedMessage) -> Reply:
        """The message as a reply model: its line, its buttons, its image (looked up once)."""
        buttons = [
            [Button(Line(b.label, b.label_params), command=b.command or "", url=b.url) for b in row]
            for row in message.buttons
        ]
        image = None
        if message.image_digest is not None:
            image = await self._image(message.image_digest)
        return Reply(
            [Line(message.key, message.params)],
            buttons=buttons,
            image_png=image.data if image is not None else None,
        )

    async def _image(self, digest: str) -> OutboxImage | None:
        if digest not in self._images:
            if len(self._images) >= CACHED_IMAGES:
                del self._images[next(iter(self._images))]
            self._images[digest] = await asyncio.to_thread(self._queue.image, digest)
        return self._images[digest]

    def _ordered(self, identities: list[Identity]) -> list[Identity]:
        order = list(self._senders)
        usable = [i for i in identities if i.platform in self._senders]
        return sorted(usable, key=lambda identity: order.index(identity.platform))
