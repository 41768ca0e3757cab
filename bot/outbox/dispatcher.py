"""The outbox dispatcher: claims due rows in batches and sends them through platform senders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from starlette.routing import BaseRoute

from bot.outbox.pacer import Pacer
from bot.outbox.senders import OutboxSender, RetryLater, Unreachable
from bot.render import Renderer
from bot.replies import Line
from core.model import Identity, Member
from core.outbox import OutboxQueue, QueuedMessage
from core.ports import Clock, Database

log = logging.getLogger(__name__)

BATCH = 100
# Long enough for a batch to go out at 30/s; after a crash the rows are offered again then.
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class Dispatcher:
    """A runner Component that drains the outbox while the bot runs."""

    def __init__(
        self,
        queue: OutboxQueue,
        database: Database,
        renderer: Renderer,
        clock: Clock,
        idle_seconds: float = 1.0,
    ) -> None:
        self._queue = queue
        self._database = database
        self._renderer = renderer
        self._clock = clock
        self._idle = idle_seconds
        self._senders: dict[str, OutboxSender] = {}
        self._pacers: dict[str, Pacer] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def register(self, sender: OutboxSender, pacer: Pacer | None = None) -> None:
        """Send to members on `sender.platform` through `sender` (first registered, first tried).

        `pacer` shares one send budget with the adapter's own replies, when it has one.
        """
        self._senders[sender.platform] = sender
        self._pacers[sender.platform] = pacer or Pacer(sender.per_second, sender.per_chat_interval)

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

    def wake(self) -> None:
        """Look at the outbox now instead of after the idle pause."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch and settle every message in it; how many were claimed."""
        now = self._clock.now()
        batch = await asyncio.to_thread(self._queue.claim, now, now + LEASE, BATCH)
        for message in batch:
            await self._deliver(message)
        return len(batch)

    async def _loop(self) -> None:
        while True:
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("outbox batch failed; retrying shortly")
                claimed = 0
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle)
                self._wake.clear()

    async def _deliver(self, message: QueuedMessage) -> None:
        member, identities = await asyncio.to_thread(self._recipient, message.member_id)
        if member is None or not member.notifications:
            await asyncio.to_thread(self._queue.mark_failed, message.id, "no member or opted out")
            return
        blocked_on: str | None = None
        for identity in self._ordered(identities):
            if await asyncio.to_thread(self._queue.unreachable, member.id, identity.platform):
                blocked_on = blocked_on or identity.platform
                continue
            await self._send(message, member, identity)
            return
        if blocked_on is not None:
            await asyncio.to_thread(self._queue.mark_blocked, message.id, blocked_on)
        else:
            await asyncio.to_thread(self._queue.mark_failed, message.id, "no reachable identity")

    async def _send(self, message: QueuedMessage, member: Member, identity: Identity) -> None:
        sender = self._senders[identity.platform]
        pacer = self._pacers[identity.platform]
        language = self._renderer.catalogs.language_for(member.language or identity.language)
        text = self._renderer.line(Line(f"notify.{message.kind}", message.params), language)
        queue = self._queue
        busy = pacer.chat_ready_in(identity.external_id)
        if busy > 0:  # this chat had a message moments ago: come back instead of holding others
            later = self._clock.now() + timedelta(seconds=busy)
            await asyncio.to_thread(queue.requeue, message.id, later, "paced", False)
            return
        await pacer.wait(identity.external_id)
        try:
            await sender.send(identity, text)
        except RetryLater as wait:
            pacer.pause(wait.seconds)
            later = self._clock.now() + timedelta(seconds=wait.seconds)
            await asyncio.to_thread(queue.requeue, message.id, later, str(wait), False)
        except Unreachable:
            log.info("member %s is unreachable on %s", member.id, identity.platform)
            await asyncio.to_thread(queue.mark_blocked, message.id, identity.platform)
        except Exception as error:
            log.warning(
                "outbox %s: sending failed (attempt %d)",
                message.id,
                message.attempts,
                exc_info=True,
            )
            if message.attempts >= MAX_ATTEMPTS:
                await asyncio.to_thread(queue.mark_failed, message.id, repr(error))
            else:
                later = self._clock.now() + timedelta(seconds=2**message.attempts)
                await asyncio.to_thread(queue.requeue, message.id, later, repr(error)[:500])
        else:
            await asyncio.to_thread(queue.mark_sent, message.id, self._clock.now())

    def _recipient(self, member_id: int) -> tuple[Member | None, list[Identity]]:
        return self._database.run(
            lambda uow: (uow.members.by_id(member_id), uow.members.identities(member_id)),
            write=False,
        )

    def _ordered(self, identities: list[Identity]) -> list[Identity]:
        order = list(self._senders)
        usable = [i for i in identities if i.platform in self._senders]
        return sorted(usable, key=lambda identity: order.index(identity.platform))
