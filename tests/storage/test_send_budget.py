"""The send budget in the database: bookings from several processes never share a slot and
are never closer than the gap, so their sum stays under the rate; on both engines."""

from __future__ import annotations

import itertools
import multiprocessing.synchronize
from typing import Any

from storage.database import SqlDatabase
from storage.send_budget import SqlSendBudget
from tests.storage.helpers import in_processes

GAP = 0.001


def test_bookings_follow_each_other_and_pauses_hold(db: SqlDatabase) -> None:
    budget = SqlSendBudget(db, "telegram:test")
    assert budget.reserve(5, 0.1, 100.0) == 100.0
    assert abs(budget.reserve(1, 0.1, 100.2) - 100.5) < 1e-9  # after the block booked first
    assert budget.reserve(1, 0.1, 200.0) == 200.0  # an idle budget starts from now
    budget.pause(300.0)
    assert budget.reserve(2, 0.1, 200.5) == 300.0
    assert SqlSendBudget(db, "slack:test").reserve(1, 0.1, 200.0) == 200.0  # its own budget


def _book(
    url: str, start: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue[Any]
) -> None:
    db = SqlDatabase.from_url(url)
    budget = SqlSendBudget(db, "telegram:race")
    start.wait()
    slots: list[float] = []
    for n in range(60):
        count = 1 + n % 5  # blocks of 1 to 5, as pacers book them
        first = budget.reserve(count, GAP, 1_000.0)
        slots.extend(first + i * GAP for i in range(count))
    db.dispose()
    results.put(slots)


def test_workers_booking_at_once_get_disjoint_slots_a_gap_apart(migrated_url: str) -> None:
    found = in_processes(_book, (migrated_url,), 3)
    slots = sorted(slot for worker in found for slot in worker)
    assert len(slots) == 3 * sum(1 + n % 5 for n in range(60))
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) > GAP * 0.999  # never two sends closer than the rate allows
    assert abs(slots[-1] - slots[0] - GAP * (len(slots) - 1)) < 1e-6  # and none wasted
