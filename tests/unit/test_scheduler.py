"""The scheduler component with fakes: leadership gates the sweeps, and a backlog drains."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.scheduler import Scheduler, drain
from core.results import SweepResult

TICK = 0.02


class SpySweeps:
    """Records every sweep; each moves nothing."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def release_due(self, limit: int = 500) -> SweepResult:
        self.calls.append("release")
        return SweepResult()

    def expire_due(self, limit: int = 500) -> SweepResult:
        self.calls.append("expire")
        return SweepResult()

    def return_expired_vouchers(self, limit: int = 500) -> SweepResult:
        self.calls.append("vouchers")
        return SweepResult(0, 0)


class Switch:
    """A leadership the test hands out and takes back."""

    def __init__(self, leading: bool = False, failing: bool = False) -> None:
        self.leading = leading
        self.failing = failing
        self.attempts = 0
        self.released = False

    def try_acquire(self) -> bool:
        self.attempts += 1
        if self.failing:
            raise ConnectionError("database is down")
        return self.leading

    def release(self) -> None:
        self.released = True


async def eventually(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait until `condition` holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(TICK / 2)


def scheduler(sweeps: SpySweeps, leadership: Switch) -> Scheduler:
    return Scheduler(
        sweeps,
        leadership,
        release_every=TICK,
        expire_every=TICK,
        first_expire_after=0,
        elect_every=TICK,
    )


async def test_a_non_leader_runs_no_sweep_until_it_takes_over() -> None:
    sweeps, leadership = SpySweeps(), Switch(leading=False)
    component = scheduler(sweeps, leadership)
    await component.start()
    try:
        await eventually(lambda: leadership.attempts >= 4)  # jobs ran meanwhile, idle
        assert sweeps.calls == []
        assert not component.leading
        leadership.leading = True  # the leader died; this process gets the lock
        await eventually(lambda: {"release", "expire"} <= set(sweeps.calls))
        assert component.leading
    finally:
        await component.stop()
    assert leadership.released


async def test_a_failing_election_means_not_leading() -> None:
    sweeps, leadership = SpySweeps(), Switch(leading=True, failing=True)
    component = scheduler(sweeps, leadership)
    await component.start()
    try:
        await eventually(lambda: leadership.attempts >= 3)
        assert (component.leading, sweeps.calls) == (False, [])
    finally:
        await component.stop()


def test_drain_repeats_while_batches_come_back_full() -> None:
    backlog = [3, 3, 1]
    limits: list[int] = []

    def sweep(limit: int) -> SweepResult:
        limits.append(limit)
        lots = backlog.pop(0) if backlog else 0
        return SweepResult(lots=lots, points=lots * 10, candidates=lots)

    assert drain(sweep, batch=3) == SweepResult(lots=7, points=70, candidates=7)
    assert limits == [3, 3, 3]


def test_drain_goes_on_past_lots_set_aside() -> None:
    # A full batch in which one lot was set aside (inconsistent) still means more may be due.
    backlog = [(3, 1), (1, 0)]

    def sweep(limit: int) -> SweepResult:
        due, bad = backlog.pop(0) if backlog else (0, 0)
        return SweepResult(lots=due - bad, points=0, candidates=due, set_aside=bad)

    assert drain(sweep, batch=3) == SweepResult(lots=3, candidates=4, set_aside=1)
