"""PostgreSQL with several client processes: does the core keep up as the server gets busy?

Each client is a process (no shared GIL) with its own connections and its own members, so
the clients contend for the server and its commits, not for the same rows. Every client runs
every workload in step, waiting at a barrier before each one; a workload's rate is all
clients' journals over the time from the first start to the last finish.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from queue import Empty
from typing import Any, cast

from benchmarks import workloads
from benchmarks.databases import Target
from benchmarks.handwritten import HandWritten
from benchmarks.results import Throughput
from benchmarks.runner import Bench
from benchmarks.seed import FixedClock
from benchmarks.settings import NOW, PROGRAM_FILE, Sizes
from bot.bootstrap import message_bus
from core.loyalty import Loyalty
from core.program import load_program
from storage.database import SqlDatabase

WORKLOADS = ("bare", "earn-hand", "earn-core", "redeem-hand", "redeem-core")


@dataclass(frozen=True)
class ClientPlan:
    """What one client process runs: its members per workload, and how many journals."""

    target: Target
    client: int
    members: dict[str, list[int]]
    ops: dict[str, int]
    price: int


def run_concurrent(target: Target, sizes: Sizes) -> list[Throughput]:
    clients = sizes.concurrent_clients
    ops = {
        "bare": sizes.ops(target.engine, sizes.bare_ops) // clients,
        "earn-hand": sizes.ops(target.engine, sizes.earn_ops) // clients,
        "earn-core": sizes.ops(target.engine, sizes.earn_ops) // clients,
        "redeem-hand": sizes.ops(target.engine, sizes.redeem_ops) // clients,
        "redeem-core": sizes.ops(target.engine, sizes.redeem_ops) // clients,
    }
    bench = Bench.open(target, sizes)
    try:
        plans = [_plan(bench, target, c, ops, max(2, sizes.members // clients))
                 for c in range(clients)]  # fmt: skip
    finally:
        bench.close()
    spawn = mp.get_context("spawn")  # a clean interpreter: no inherited sockets or pools
    barrier = spawn.Barrier(clients)
    queue: Any = spawn.Queue()
    procs = [spawn.Process(target=_client, args=(plan, barrier, queue)) for plan in plans]
    for p in procs:
        p.start()
    spans: dict[str, list[tuple[float, float]]] = {w: [] for w in WORKLOADS}
    try:
        for _ in range(clients * len(WORKLOADS)):
            workload, start, end = _next_report(queue, procs)
            spans[workload].append((start, end))
    finally:
        for p in procs:
            if p.is_alive() and any(q.exitcode for q in procs):
                p.terminate()  # a sibling failed: the rest would wait at the barrier
            p.join()
    rate = {
        w: ops[w] * clients / (max(e for _, e in s) - min(b for b, _ in s))
        for w, s in spans.items()
    }
    return [
        Throughput(target.engine, clients, journal, rate[f"{journal}-core"],
                   rate[f"{journal}-hand"], rate["bare"])
        for journal in ("earn", "redeem")
    ]  # fmt: skip


def _next_report(queue: Any, procs: list[Any]) -> tuple[str, float, float]:
    """The next client report; fails fast when a client process died."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            return cast(tuple[str, float, float], queue.get(timeout=0.5))
        except Empty:
            if failed := [p.exitcode for p in procs if p.exitcode]:
                raise RuntimeError(f"a benchmark client failed (exit codes {failed})") from None
    raise TimeoutError("benchmark clients did not report within 300 s")


def _plan(
    bench: Bench, target: Target, client: int, ops: dict[str, int], members: int
) -> ClientPlan:
    from benchmarks.seed import enroll_pool, fund_for_redeeming

    pools = {
        "earn-hand": enroll_pool(bench.loyalty, f"c{client}-earn-hand", members),
        "earn-core": enroll_pool(bench.loyalty, f"c{client}-earn-core", members),
    }
    for name in ("redeem-hand", "redeem-core"):
        pool = enroll_pool(bench.loyalty, f"c{client}-{name}", members)
        each = -(-ops[name] * bench.price // members) + 2 * bench.price
        fund_for_redeeming(bench.loyalty, pool, each, bench.sizes.lot_points)
        pools[name] = pool
    return ClientPlan(target, client, pools, ops, bench.price)


def _client(plan: ClientPlan, barrier: Any, queue: Any) -> None:
    program = load_program(PROGRAM_FILE)
    db = SqlDatabase.from_url(plan.target.url, bus=message_bus())
    loyalty = Loyalty(db, program, FixedClock(NOW))
    conn = plan.target.connect()
    hand = HandWritten(conn, plan.target.engine, program, NOW)
    runs = {
        "bare": lambda n: workloads.bare_inserts(conn, plan.target.engine, n),
        "earn-hand": lambda n: workloads.hand_earn(
            hand, plan.members["earn-hand"], n, f"p{plan.client}h"
        ),
        "earn-core": lambda n: workloads.core_earn(
            loyalty, plan.members["earn-core"], n, f"p{plan.client}c"
        ),
        "redeem-hand": lambda n: workloads.hand_redeem(
            hand, plan.members["redeem-hand"], n, f"p{plan.client}h", plan.price
        ),
        "redeem-core": lambda n: workloads.core_redeem(
            loyalty, plan.members["redeem-core"], n, f"p{plan.client}c"
        ),
    }
    try:
        for workload in WORKLOADS:
            barrier.wait(timeout=120)  # a crashed sibling must not hang the run
            start = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
            runs[workload](plan.ops[workload])
            queue.put((workload, start, time.perf_counter()))
    finally:
        conn.close()
        db.dispose()
