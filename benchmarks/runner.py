"""One engine's single-client measurements: pools, statement check, alternating timed blocks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import workloads
from benchmarks.databases import Target
from benchmarks.handwritten import HandWritten
from benchmarks.results import Latency, Throughput
from benchmarks.seed import FixedClock, enroll_pool, fund_for_redeeming, member_with_lots
from benchmarks.settings import NOW, PROGRAM_FILE, REDEEM_REWARD, Sizes
from benchmarks.trace import StatementLog
from bot.bootstrap import message_bus
from core.loyalty import Loyalty
from core.program import Program, load_program
from storage.database import SqlDatabase
from storage.engine import create_engine_for


@dataclass
class Bench:
    """The core and the hand-written baseline, side by side on one database."""

    target: Target
    sizes: Sizes
    program: Program
    loyalty: Loyalty
    hand: HandWritten
    conn: Any
    core_log: StatementLog
    hand_log: StatementLog

    @classmethod
    def open(cls, target: Target, sizes: Sizes) -> Bench:
        program = load_program(PROGRAM_FILE)
        engine = create_engine_for(target.url)
        core_log, hand_log = StatementLog(), StatementLog()
        conn = target.connect()
        if target.engine == "sqlite":  # sqlite3 can show every statement it runs
            core_log.attach_engine(engine)
            hand_log.attach_connection(conn)
        # The app's event handlers too: earning queues its notification, as in production.
        loyalty = Loyalty(SqlDatabase(engine, bus=message_bus()), program, FixedClock(NOW))
        return cls(target, sizes, program, loyalty, HandWritten(conn, target.engine, program,
                   NOW), conn, core_log, hand_log)  # fmt: skip

    def close(self) -> None:
        self.conn.close()
        self.loyalty.db.engine.dispose()  # type: ignore[attr-defined]

    @property
    def price(self) -> int:
        reward = self.program.reward(REDEEM_REWARD)
        assert reward is not None
        return reward.price

    def redeem_pool(self, label: str, ops: int) -> list[int]:
        """Members funded for `ops` redemptions between them, plus a margin."""
        members = enroll_pool(self.loyalty, label, self.sizes.members)
        each = math.ceil(ops * self.price / len(members)) + 2 * self.price
        fund_for_redeeming(self.loyalty, members, each, self.sizes.lot_points)
        return members

    def warm_up(self) -> None:
        """First journals create the system accounts and fill the caches, untimed."""
        members = self.redeem_pool("warm", 8)
        workloads.core_earn(self.loyalty, members, 2, "warm-core")
        workloads.core_redeem(self.loyalty, members, 2, "warm-core")
        workloads.hand_earn(self.hand, members, 2, "warm-hand")
        workloads.hand_redeem(self.hand, members, 2, "warm-hand", self.price)

    def statement_counts(self) -> dict[str, str]:
        """Per journal, 'core/handwritten' statement counts; raises if the sequences differ."""
        if self.target.engine != "sqlite":
            return {}
        # Twin pools in the same state, so both draw the same lots.
        members, twins = self.redeem_pool("traced-core", 1), self.redeem_pool("traced-hand", 1)
        counts = {}
        runs = {
            "earn": (
                lambda: workloads.core_earn(self.loyalty, members, 1, "traced-core"),
                lambda: workloads.hand_earn(self.hand, twins, 1, "traced-hand"),
            ),
            "redeem": (
                lambda: workloads.core_redeem(self.loyalty, members, 1, "traced-core"),
                lambda: workloads.hand_redeem(self.hand, twins, 1, "traced-hand", self.price),
            ),
        }
        for journal, (core_run, hand_run) in runs.items():
            core, hand = _traced(self.core_log, core_run), _traced(self.hand_log, hand_run)
            if core != hand:
                raise AssertionError(f"{journal}: core issued {core}, hand-written {hand}")
            counts[journal] = f"{len(core)}/{len(hand)}"
        return counts

    def throughput(self) -> list[Throughput]:
        """Single-client earn and redeem, core against baselines (a) and (b)."""
        s, engine = self.sizes, self.target.engine
        earn_ops, redeem_ops = s.ops(engine, s.earn_ops), s.ops(engine, s.redeem_ops)
        counts = self.statement_counts()
        bare_ops = s.ops(engine, s.bare_ops)
        bare = bare_ops / workloads.bare_inserts(self.conn, engine, bare_ops)
        pools = {
            "earn-core": enroll_pool(self.loyalty, "earn-core", s.members),
            "earn-hand": enroll_pool(self.loyalty, "earn-hand", s.members),
            "redeem-core": self.redeem_pool("redeem-core", redeem_ops),
            "redeem-hand": self.redeem_pool("redeem-hand", redeem_ops),
        }
        runs: dict[str, Callable[[int, int], float]] = {
            "earn-hand": lambda n, i: workloads.hand_earn(
                self.hand, pools["earn-hand"], n, "earn-hand", i
            ),
            "earn-core": lambda n, i: workloads.core_earn(
                self.loyalty, pools["earn-core"], n, "earn-core", i
            ),
            "redeem-hand": lambda n, i: workloads.hand_redeem(
                self.hand, pools["redeem-hand"], n, "redeem-hand", self.price, i
            ),
            "redeem-core": lambda n, i: workloads.core_redeem(
                self.loyalty, pools["redeem-core"], n, "redeem-core", i
            ),
        }
        seconds = dict.fromkeys(runs, 0.0)
        # Short blocks, alternating baseline and core: background load (this machine has
        # two cores) and table growth then fall on both sides alike.
        for block in range(s.blocks):
            for name, run in runs.items():
                per_block = (earn_ops if name.startswith("earn") else redeem_ops) // s.blocks
                # Numbering continues across blocks: every member is used in turn.
                seconds[name] += run(per_block, block * per_block)
        rates = {
            name: (earn_ops if name.startswith("earn") else redeem_ops) // s.blocks * s.blocks / t
            for name, t in seconds.items()
        }
        return [
            Throughput(engine, 1, journal, rates[f"{journal}-core"], rates[f"{journal}-hand"],
                       bare, counts.get(journal, ""))
            for journal in ("earn", "redeem")
        ]  # fmt: skip

    def balance(self) -> Latency:
        """Loyalty.balance for one member holding many lots."""
        member = member_with_lots(self.loyalty, self.sizes.balance_lots)
        samples = workloads.balance_latencies(self.loyalty, member, self.sizes.balance_calls)
        return Latency.of(self.target.engine, self.sizes.balance_lots, samples)


def _traced(log: StatementLog, run: Any) -> list[str]:
    log.statements.clear()
    log.active = True
    try:
        run()
    finally:
        log.active = False
    return log.shapes()
