"""The flow cache's scheduler job and the id ranges a report sums live."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.scheduler import FLOW_BLOCKS_PER_RUN, flow_cache_jobs
from core.results import SweepResult
from storage.flow_cache import BLOCK, _outside

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


class _Cache:
    """Has 2 full runs of blocks to write, then 3 blocks."""

    def __init__(self) -> None:
        self.calls: list[tuple[datetime, int]] = []
        self.left = 2 * FLOW_BLOCKS_PER_RUN + 3

    def refresh(self, now: datetime, limit: int = 64) -> SweepResult:
        self.calls.append((now, limit))
        done = min(limit, self.left)
        self.left -= done
        return SweepResult(lots=done, candidates=done)


def test_the_job_writes_blocks_run_after_run_until_a_short_one() -> None:
    cache = _Cache()
    (job,) = flow_cache_jobs(cache, _Clock())
    assert job.once
    assert job.sweep(500).lots == 2 * FLOW_BLOCKS_PER_RUN + 3
    assert cache.calls == [(NOW, FLOW_BLOCKS_PER_RUN)] * 3


def test_a_report_sums_live_every_id_outside_the_usable_blocks() -> None:
    assert _outside([]) == [(0, 2**62)]
    assert _outside([0, 1, 3]) == [(2 * BLOCK, 3 * BLOCK), (4 * BLOCK, 2**62)]
    assert _outside([2]) == [(0, 2 * BLOCK), (3 * BLOCK, 2**62)]
