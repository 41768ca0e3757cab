"""Time-driven work while the bot runs: releasing pending points, expiring due lots, and the
jobs features add beside them (the tier review: `tier_jobs`).

APScheduler 3 cannot share a job store between processes, so with several workers only the
leader sweeps; the sweeps are idempotent, so leadership only saves wasted work.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from starlette.routing import BaseRoute

from core.ports import Clock
from core.results import SweepResult

log = logging.getLogger(__name__)
T = TypeVar("T")

BATCH = 500
# A cap per run so one job never holds a worker thread for long; the next run continues.
MAX_BATCHES = 200
# Tier windows end at the program's midnight; looking every hour catches each one soon after.
TIER_REVIEW_EVERY = 3600.0
# How soon another worker takes over from a leader that died: one cheap query per worker.
ELECT_EVERY = 10.0
# Nudges go from a local hour (`send_from`): planning every 15 minutes reaches each zone soon
# after its hour comes.
NUDGE_EVERY = 900.0
BROADCAST_EVERY = 15.0  # a scheduled broadcast starts within this of its time
LIFT_EVERY = 3600.0
# The report's flow cache settles blocks an hour after their last journal: hourly is enough.
FLOW_CACHE_EVERY = 3600.0
FLOW_BLOCKS_PER_RUN = 16  # blocks of 16,384 journals per transaction


class Sweeps(Protocol):
    """The core's time-driven use cases (`core.loyalty.Loyalty`)."""

    def release_due(self, limit: int = ...) -> SweepResult: ...
    def expire_due(self, limit: int = ...) -> SweepResult: ...
    def return_expired_vouchers(self, limit: int = ...) -> SweepResult: ...


class TierReview(Protocol):
    """The daily tier roll-over (`core.gamification.Gamification`)."""

    def review_tiers(self, limit: int = ...) -> SweepResult: ...


@dataclass(frozen=True, kw_only=True)
class Job:
    """A periodic job beside the ledger sweeps: `sweep(batch)` drained while batches are full."""

    id: str
    sweep: Callable[[int], SweepResult]
    every: float
    first_after: float = 0.0
    verb: str = "handled"  # how the log says what a run did ("reviewed 3 ...")
    # A set-based job does all its work in one call: run it once, not batch after batch.
    once: bool = False


class NudgePlanning(Protocol):
    """The nudge planner (`core.nudges.NudgePlanner`), given the moment to plan for."""

    def plan(self, now: datetime, *, dry_run: bool = ...) -> Any: ...


class BroadcastRuns(Protocol):
    """Broadcasts' time-driven steps (`core.broadcasts.Broadcasts`), each given `now`."""

    def start_due(self, now: datetime) -> int: ...
    def finish_done(self, now: datetime) -> int: ...
    def report_lift(self, now: datetime) -> int: ...


def nudge_jobs(planner: NudgePlanning, clock: Clock, every: float = NUDGE_EVERY) -> list[Job]:
    """Plan the nudges due now (each member's own hour comes round within `every`)."""

    def plan(_: int) -> SweepResult:
        return SweepResult(lots=planner.plan(clock.now()).count)

    return [Job(id="plan-nudges", sweep=plan, every=every, verb="nudges planned", once=True)]


def broadcast_jobs(runs: BroadcastRuns, clock: Clock, every: float = BROADCAST_EVERY) -> list[Job]:
    """Start scheduled broadcasts, report finished ones to their authors, then their lift."""

    def step(method: Callable[[datetime], int]) -> Callable[[int], SweepResult]:
        return lambda _: SweepResult(lots=method(clock.now()))

    def broadcasts(_: int) -> SweepResult:
        now = clock.now()
        return SweepResult(lots=runs.start_due(now) + runs.finish_done(now))

    return [
        Job(id="broadcasts", sweep=broadcasts, every=every, verb="broadcasts started or reported",
            once=True),
        Job(id="broadcast-lift", sweep=step(runs.report_lift), every=LIFT_EVERY,
            verb="lift reports", once=True),
    ]  # fmt: skip


def tier_jobs(tiers: TierReview, every: float = TIER_REVIEW_EVERY) -> list[Job]:
    """The tier review: members whose tier window ended keep or drop their tier."""
    return [Job(id="review-tiers", sweep=tiers.review_tiers, every=every, verb="tiers reviewed")]


class FlowBlocks(Protocol):
    """The report's per-block flow cache (`storage.flow_cache.FlowCache`)."""

    def refresh(self, now: datetime, limit: int = ...) -> SweepResult: ...


def flow_cache_jobs(cache: FlowBlocks, clock: Clock, every: float = FLOW_CACHE_EVERY) -> list[Job]:
    """Cache the flows of settled blocks of journals, a few blocks per transaction."""

    def refresh(_: int) -> SweepResult:
        total = SweepResult()
        for _ in range(MAX_BATCHES):
            done = cache.refresh(clock.now(), limit=FLOW_BLOCKS_PER_RUN)
            total += done
            if done.candidates < FLOW_BLOCKS_PER_RUN:
                break
        return total

    return [Job(id="flow-cache", sweep=refresh, every=every, verb="flow blocks cached", once=True)]


class Leadership(Protocol):
    """Who runs the jobs when several workers serve one shop (see `storage.leader`)."""

    def try_acquire(self) -> bool:
        """True while this process leads, becoming leader if nobody is."""
        ...

    def release(self) -> None:
        """Stop leading, so another process may take over."""
        ...


def drain(sweep: Callable[[int], SweepResult], batch: int = BATCH) -> SweepResult:
    """Run `sweep` batch after batch while it finds a full one due; the total it moved."""
    total = SweepResult()
    for _ in range(MAX_BATCHES):
        result = sweep(batch)
        total += result
        if result.candidates < batch:
            break
    return total


def catch_up(sweeps: Sweeps, jobs: Sequence[Job] = ()) -> None:
    """Release, then expire, everything due now (releasing first: released lots may be due),
    return the points of vouchers that expired unused, then run every other job once."""
    drain(sweeps.release_due)
    drain(sweeps.expire_due)
    drain(sweeps.return_expired_vouchers)
    for job in jobs:
        job.sweep(BATCH) if job.once else drain(job.sweep)


class Scheduler:
    """A runner Component running the sweeps on intervals, in the leader process only."""

    def __init__(
        self,
        sweeps: Sweeps,
        leadership: Leadership,
        *,
        release_every: float = 60,
        expire_every: float = 600,
        first_expire_after: float = 10,
        elect_every: float = ELECT_EVERY,
        batch: int = BATCH,
        jobs: Sequence[Job] = (),
    ) -> None:
        self._sweeps = sweeps
        self._jobs = tuple(jobs)
        self._leadership = leadership
        self._release_every = release_every
        self._expire_every = expire_every
        self._first_expire_after = first_expire_after
        self._elect_every = elect_every
        self._batch = batch
        self._leading = False
        self._scheduler: Any = None
        self._in_flight: set[asyncio.Future[Any]] = set()
        # Told (job, outcome, seconds) after every run, e.g. by bot.metrics.
        self.observer: Callable[[str, str, float], None] | None = None

    @property
    def leading(self) -> bool:
        """Whether this process runs the sweeps now."""
        return self._leading

    def routes(self) -> list[BaseRoute]:
        """No HTTP routes."""
        return []

    async def start(self) -> None:
        """Elect, then schedule the jobs (they do nothing while another process leads)."""
        # APScheduler only when the bot runs: the console never starts a scheduler.
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        await self.elect()
        scheduler = AsyncIOScheduler(timezone=UTC)
        self._add(scheduler, self.elect, "elect-leader", self._elect_every)
        self._add(scheduler, self.release, "release-due", self._release_every)
        first_expiry = datetime.now(UTC) + timedelta(seconds=self._first_expire_after)
        self._add(scheduler, self.expire, "expire-due", self._expire_every, first_expiry)
        self._add(scheduler, self.vouchers, "return-vouchers", self._expire_every, first_expiry)
        for job in self._jobs:
            first = datetime.now(UTC) + timedelta(seconds=job.first_after)
            self._add(scheduler, self._runner(job), job.id, job.every, first)
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        """Stop the jobs, let a transaction under way finish, and give up leadership."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            await asyncio.sleep(0)  # the shutdown itself runs on the loop's next turn
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await asyncio.to_thread(self._leadership.release)
        self._leading = False

    async def elect(self) -> None:
        """Become (or stay) leader if possible; a non-leader takes over when the leader dies."""
        try:
            leading = await self._in_thread(self._leadership.try_acquire)
        except Exception:
            log.warning("leader election failed; not sweeping until it succeeds", exc_info=True)
            leading = False
        if leading != self._leading:  # rare, and what an operator looks for after a failover
            log.warning("scheduler: this process %s", "leads" if leading else "no longer leads")
        self._leading = leading

    async def release(self) -> None:
        """Release every pending lot whose return window has ended."""
        await self._sweep("released", self._sweeps.release_due, "release-due")

    async def expire(self) -> None:
        """Expire every lot that is due."""
        await self._sweep("expired", self._sweeps.expire_due, "expire-due")

    async def vouchers(self) -> None:
        """Give back the points of vouchers that expired unused (when the program says so)."""
        await self._sweep(
            "returned voucher points:", self._sweeps.return_expired_vouchers, "return-vouchers"
        )

    def _runner(self, job: Job) -> Callable[[], Any]:
        async def run() -> None:
            done = await self._drain(job.verb, job.sweep, job.id, job.once)
            if done is not None and done.candidates:
                log.info("%s: %d changed of %d due", job.verb, done.lots, done.candidates)

        return run

    async def _sweep(self, verb: str, sweep: Callable[[int], SweepResult], job: str) -> None:
        moved = await self._drain(verb, sweep, job)
        if moved is not None and moved.lots:
            log.info("%s %d points (%d lots)", verb, moved.points, moved.lots)

    async def _drain(
        self, verb: str, sweep: Callable[[int], SweepResult], job: str, once: bool = False
    ) -> SweepResult | None:
        if not self._leading:
            self._observe(job, "skipped", 0.0)
            return None
        # A leader whose lock connection was cut (a restarted or failed-over server) has lost
        # the lock and another worker may hold it now: check before sweeping, not a minute on.
        await self.elect()
        if not self._leading:
            self._observe(job, "skipped", 0.0)
            return None
        started = time.perf_counter()
        try:
            if once:
                result = await self._in_thread(sweep, self._batch)
            else:
                result = await self._in_thread(drain, sweep, self._batch)
        except Exception:
            log.exception("sweep failed (%s); the next run retries", verb)
            self._observe(job, "failed", time.perf_counter() - started)
            return None
        self._observe(job, "ok", time.perf_counter() - started)
        return result

    def _observe(self, job: str, outcome: str, seconds: float) -> None:
        if self.observer is not None:
            self.observer(job, outcome, seconds)

    async def _in_thread(self, func: Callable[..., T], *args: Any) -> T:
        future = asyncio.ensure_future(asyncio.to_thread(func, *args))
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)
        # Shielded: stopping cancels the job, but its transaction finishes and stop() waits.
        return await asyncio.shield(future)

    def _add(
        self,
        scheduler: Any,
        job: Callable[[], Any],
        job_id: str,
        every: float,
        first: datetime | None = None,
    ) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        # Passing next_run_time=None would add the job paused, so only a given one is passed.
        when = {} if first is None else {"next_run_time": first}
        scheduler.add_job(
            job,
            IntervalTrigger(seconds=every, timezone=UTC),
            id=job_id,
            **when,
            coalesce=True,  # runs missed while the loop was busy collapse into one
            max_instances=1,  # a long drain is never overlapped by the next run
            # A late sweep is still worth running until the next one is due; later than
            # that, the next run does the same work (APScheduler's default is 1 s).
            misfire_grace_time=max(1, math.ceil(every)),
        )
