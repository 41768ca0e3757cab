"""Faults injected while the load runs: workers killed and restarted, their database
connections terminated, PostgreSQL restarted once, the platforms slow, failing,
rate-limiting, timing out, a member who blocked the bot. Each is counted, so the suite can
print what it survived.

The restart is of the suite's own server (tests/faults/server.py), never of the one other
test runs share.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from tests.fakes.faults import FaultPlan
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.faults.cluster import Cluster, Worker

POSTGRES_RESTART = "PostgreSQL restart"
# What the platforms do in each phase of the run, in turn.
PHASES = [
    FaultPlan(),
    FaultPlan(slow=0.10, error=0.08, slow_seconds=1.5),
    FaultPlan(rate_limited=0.08, timeout=0.03, retry_after=1, hang_seconds=6.0),
    FaultPlan(slow=0.05, error=0.05, rate_limited=0.05, timeout=0.02, slow_seconds=1.0),
]
SLACK_PHASES = [
    FaultPlan(),
    FaultPlan(slow=0.10, error=0.08, slow_seconds=1.5),
    FaultPlan(rate_limited=0.08, retry_after=1),
    FaultPlan(slow=0.05, error=0.05, rate_limited=0.05),
]


@dataclass(kw_only=True)
class Injected:
    """What was done to the system, with when (monotonic) for the checks that need it."""

    counts: Counter[str] = field(default_factory=Counter)
    # (when, application name) for each worker whose connections were terminated.
    terminated: list[tuple[float, str]] = field(default_factory=list)


class Chaos:
    """Runs the fault loops until told to stop."""

    def __init__(
        self,
        cluster: Cluster,
        telegram: FakeTelegramApi,
        slack: FakeSlackApi,
        server_dsn: str,
        blocked_chats: list[int],
        restart_postgres: Callable[[], float],
        *,
        restart_after: float = 30.0,
        kill_every: float = 4.0,
        terminate_every: float = 9.0,
        phase_seconds: float = 12.0,
        seed: int = 7,
    ) -> None:
        self._cluster = cluster
        self._telegram = telegram
        self._slack = slack
        self._dsn = server_dsn
        self._blocked = blocked_chats
        self._kill_every = kill_every
        self._terminate_every = terminate_every
        self._phase_seconds = phase_seconds
        self._random = random.Random(seed)
        self._stop = asyncio.Event()
        self._restarting: set[int] = set()  # workers being started again: not killed meanwhile
        self._restart_postgres = restart_postgres
        self._restart_after = restart_after
        # Held while PostgreSQL restarts: no connection is terminated (the suite's own
        # connection would fail) and no worker is killed meanwhile.
        self._server = asyncio.Lock()
        self.injected = Injected()
        self.restart_seconds: float | None = None  # how long the server was away

    async def run(self) -> None:
        """Every fault loop, until `stop()`; the platforms are healthy again afterwards."""
        try:
            await asyncio.gather(
                self._kills(), self._terminations(), self._postgres(), self._platforms()
            )
        finally:
            self._telegram.faults.clear()
            self._slack.faults.clear()

    def stop(self) -> None:
        """End the loops (a restart under way finishes first)."""
        self._stop.set()

    async def _pause(self, seconds: float) -> bool:
        """Wait; False when stopped meanwhile."""
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _kills(self) -> None:
        """SIGKILL a worker every few seconds (every third time the scheduler's leader); a
        supervisor starts it again a moment later, while the next kill may already come."""
        round_, restarts = 0, []
        while await self._pause(self._kill_every * (0.6 + 0.8 * self._random.random())):
            alive = [w for w in self._cluster.alive() if w.index not in self._restarting]
            if len(alive) < 2 or self._server.locked():
                continue  # one worker keeps serving while the others restart
            round_ += 1
            leader = self._cluster.leader()
            victim = leader if round_ % 3 == 0 and leader in alive else None
            victim = victim or self._random.choice(alive)
            self._restarting.add(victim.index)
            await asyncio.to_thread(victim.kill)
            self.injected.counts["SIGKILL"] += 1
            if victim is leader:
                self.injected.counts["SIGKILL of the scheduler leader"] += 1
            restarts.append(asyncio.create_task(self._restart(victim)))
        await asyncio.gather(*restarts)

    async def _restart(self, worker: Worker) -> None:
        await asyncio.sleep(0.5 + self._random.random())
        try:
            starts = await asyncio.to_thread(worker.start)
        finally:
            self._restarting.discard(worker.index)
        self.injected.counts["restart"] += 1
        self.injected.counts["restart that had to be retried"] += starts > 1

    async def _terminations(self) -> None:
        """pg_terminate_backend on one worker's connections every few seconds."""
        while await self._pause(self._terminate_every * (0.6 + 0.8 * self._random.random())):
            async with self._server:
                workers = self._cluster.alive()
                if not workers:
                    continue
                ended = await asyncio.to_thread(self._terminate, [self._random.choice(workers)])
            self.injected.counts["pg_terminate_backend"] += 1
            self.injected.counts["connections terminated"] += ended

    async def _postgres(self) -> None:
        """Restart PostgreSQL once, with every worker's connections open and the load running
        (`pg_ctl restart -m fast`): each connection is closed and each advisory lock
        released, and the server refuses connections until it is back. Not while a killed
        worker is starting: that is a supervisor's retry, not the workers riding the restart."""
        if not await self._pause(self._restart_after):
            return
        async with self._server:
            deadline = time.monotonic() + 60
            while self._restarting and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            began = time.monotonic()
            self.restart_seconds = await asyncio.to_thread(self._restart_postgres)
            # Every worker's session ended: the leader's lock went with it.
            self.injected.terminated.extend(
                (began, w.application_name) for w in self._cluster.workers
            )
            self.injected.counts[POSTGRES_RESTART] += 1

    def _terminate(self, workers: list[Worker]) -> int:
        names = [w.application_name for w in workers]
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = ANY(%s)",
                (names,),
            ).fetchall()
        now = time.monotonic()
        self.injected.terminated.extend((now, name) for name in names)
        return sum(1 for (done,) in rows if done)

    async def _platforms(self) -> None:
        """The platforms' phases in turn; a member blocks the bot in the second."""
        phase = 0
        while True:
            plan, slack_plan = PHASES[phase % len(PHASES)], SLACK_PHASES[phase % len(PHASES)]
            self._telegram.faults.set(plan)
            self._slack.faults.set(slack_plan)
            if phase == 1:
                for chat in self._blocked:
                    self._telegram.block_chat(chat)
                self.injected.counts["members who blocked the bot"] += len(self._blocked)
            phase += 1
            if not await self._pause(self._phase_seconds):
                return
