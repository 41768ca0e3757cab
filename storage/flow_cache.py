"""The report's per-block cache of the points flows (PostgreSQL; tables of migration 0015).

Summing the flows over a long period joins every journal to its postings and accounts (over a
million journals, most of a report's time). Journals are append-only and never deleted, so a
block of journal ids (`id // BLOCK`) that still holds the number of journals it held when its
sums were written holds the very same journals: its sums per local day, kind and purpose can
stand in for its postings. `FlowCache.refresh` (a scheduler job, outside any report) writes
them for settled blocks; `cached_flows` (inside a report's snapshot) uses a block's sums only
when one indexed count of the block, in that snapshot, equals the cached count and the zone is
the report's, and sums every other journal of the period live. Periods start at a local
midnight, so per-day sums restrict exactly; the day the period's end falls in (a report's
flows run to now) is summed live for every block.

SQLite keeps the live statement (its flows are grouped by UTC hour, not by local day).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from core.report_period import local_midnights
from core.results import SweepResult
from storage.sql import Query, Sql

BLOCK = 16_384
# A block is cached once the journals after it exist and none of its own is this recent: a
# transaction still open may yet commit a journal into it (the count check catches that too,
# this only keeps the job from writing sums a report would then not use).
SETTLE = timedelta(hours=1)

_MICRO = timedelta(microseconds=1)

# The same joins and day buckets as the report's flows (storage.repositories.reports._FLOWS),
# over one block of ids.
_FLOWS_SQL = (
    "SELECT d.midnight, j.kind, a.purpose, SUM(p.amount)"
    " FROM journal j JOIN posting p ON p.journal_id = j.id JOIN account a ON a.id = p.account_id"
    " JOIN unnest(CAST(:days AS timestamptz[])) WITH ORDINALITY d(midnight, n)"
    " ON d.n = width_bucket(j.effective_at, CAST(:days AS timestamptz[]))"
)

_SNAPSHOT = Query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
# Every block below the one holding the newest journal: its count, span and latest write.
_BLOCKS = Query(
    "SELECT j.id / :size, COUNT(*), MIN(j.effective_at), MAX(j.effective_at), MAX(j.created_at)"
    " FROM journal j WHERE j.id < (SELECT MAX(id) FROM journal) / :size * :size"
    " GROUP BY 1 ORDER BY 1"
)
_CACHED = Query("SELECT block, journals, zone FROM flow_block")
_FORGET = Query("DELETE FROM flow_day WHERE block = :block")
_WRITE_DAYS = Query(
    "INSERT INTO flow_day (block, day, kind, purpose, points)"
    " SELECT :block, s.* FROM ({flows}"
    " WHERE j.id >= :lo AND j.id < :hi GROUP BY 1, 2, 3) s",
    flows=_FLOWS_SQL,
)
_WRITE_BLOCK = Query(
    "INSERT INTO flow_block (block, journals, zone, first_at, last_at)"
    " VALUES (:block, :journals, :zone, :first_at, :last_at)"
    " ON CONFLICT (block) DO UPDATE SET journals = excluded.journals, zone = excluded.zone,"
    " first_at = excluded.first_at, last_at = excluded.last_at"
)

# Cached blocks whose journals' span meets the period's whole days, each with its count now
# (through the journal's primary key: one index range per block).
_USABLE = Query(
    "SELECT b.block FROM flow_block b WHERE b.zone = :zone"
    " AND b.last_at >= :start AND b.first_at < :cut"
    " AND b.journals = (SELECT COUNT(*) FROM journal j"
    "   WHERE j.id >= b.block * :size AND j.id < (b.block + 1) * :size)"
    " ORDER BY b.block"
)
_CACHED_SUMS = Query(
    "SELECT day, kind, purpose, SUM(points) FROM flow_day"
    " WHERE block = ANY(CAST(:blocks AS integer[])) AND day >= :start AND day < :cut"
    " GROUP BY 1, 2, 3"
)


@cache
def _live(ranges: int) -> Query:
    """The report's flows over the period for journals in `ranges` id ranges, and for every
    journal of the last, partial day (from `:cut`)."""
    within = " OR ".join(f"(j.id >= :lo_{n} AND j.id < :hi_{n})" for n in range(ranges))
    within += " OR j.effective_at >= :cut"
    return Query(
        "{flows} WHERE j.effective_at >= :start AND j.effective_at < :end AND ({within})"
        " GROUP BY 1, 2, 3",
        flows=_FLOWS_SQL,
        within=within,
    )


def _outside(blocks: Sequence[int]) -> list[tuple[int, int]]:
    """The id ranges no block of `blocks` (sorted) covers; the last one is open-ended."""
    ranges: list[tuple[int, int]] = []
    low = 0
    for block in blocks:
        if block * BLOCK > low:
            ranges.append((low, block * BLOCK))
        low = (block + 1) * BLOCK
    ranges.append((low, 2**62))
    return ranges


def _midnight(at: datetime, zone: ZoneInfo) -> datetime:
    """The local midnight that begins the day `at` falls in."""
    return local_midnights(at, at + _MICRO, zone)[0]


Key = tuple[datetime, str, str]


def cached_flows(
    sql: Sql, start: datetime, end: datetime, zone: str, live: Query, params: dict[str, Any]
) -> list[tuple[datetime, str, str, int]]:
    """The report's flows (`live` with `params`: the period's statement) with the usable
    blocks' sums in place of their journals; `sql` is the report's snapshot."""
    usable: list[int] = []
    cut = _midnight(end, ZoneInfo(zone))
    if _midnight(start, ZoneInfo(zone)) == start and cut > start:
        bounds = {"zone": zone, "start": start, "cut": cut, "size": BLOCK}
        usable = [int(r[0]) for r in sql.all(_USABLE, bounds)]
    if not usable:
        return [(r[0], str(r[1]), str(r[2]), int(r[3])) for r in sql.all(live, params)]
    sums: dict[Key, int] = {}
    cached = sql.all(_CACHED_SUMS, {"blocks": usable, "start": start, "cut": cut})
    ranges = _outside(usable)
    limits = {f"lo_{n}": lo for n, (lo, _) in enumerate(ranges)}
    limits.update({f"hi_{n}": hi for n, (_, hi) in enumerate(ranges)})
    rest = sql.all(_live(len(ranges)), {**params, **limits, "cut": cut})
    for day, kind, purpose, points in (*cached, *rest):
        key = (day, str(kind), str(purpose))
        sums[key] = sums.get(key, 0) + int(points)
    return [(*key, points) for key, points in sums.items()]


class FlowCache:
    """Writes the sums of settled blocks (`refresh`); idempotent, a no-op on SQLite."""

    def __init__(self, run_sql: Callable[..., Any], flavor_name: str, zone: str) -> None:
        self._run_sql = run_sql
        self._enabled = flavor_name == "postgresql"
        self._zone = zone

    def refresh(self, now: datetime, limit: int = 64) -> SweepResult:
        """Cache up to `limit` settled blocks not cached as they are now (new, grown since, or
        bucketed in another zone); `lots` is how many were written."""
        if not self._enabled:
            return SweepResult()

        def transaction(sql: Sql) -> SweepResult:
            sql.run(_SNAPSHOT)  # the counts and the sums from one snapshot
            cached = {int(r[0]): (int(r[1]), str(r[2])) for r in sql.all(_CACHED)}
            settled = now - SETTLE
            due = [
                row
                for row in sql.all(_BLOCKS, {"size": BLOCK})
                if row[4] < settled and cached.get(int(row[0])) != (int(row[1]), self._zone)
            ][:limit]
            for block, journals, first_at, last_at, _ in due:
                self._write(sql, int(block), int(journals), first_at, last_at)
            return SweepResult(lots=len(due), candidates=len(due))

        result: SweepResult = self._run_sql(transaction, write=True)
        return result

    def _write(
        self, sql: Sql, block: int, journals: int, first_at: datetime, last_at: datetime
    ) -> None:
        days = local_midnights(first_at, last_at + _MICRO, ZoneInfo(self._zone))
        bounds = {"block": block, "lo": block * BLOCK, "hi": (block + 1) * BLOCK}
        sql.run(_FORGET, bounds)
        sql.run(_WRITE_DAYS, {**bounds, "days": days})
        sql.run(
            _WRITE_BLOCK,
            {**bounds, "journals": journals, "zone": self._zone, "first_at": first_at,
             "last_at": last_at},
        )  # fmt: skip
