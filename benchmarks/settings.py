"""What a benchmark run measures and how big each measurement is."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

POSTGRES_URL_ENV = "LOYALTY_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROGRAM_FILE = Path(__file__).resolve().parent.parent / "bot" / "programs" / "coffee.toml"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS_DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"

# A fixed clock: runs are reproducible and no pending lot ever becomes due mid-run.
NOW = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
REDEEM_REWARD = "cookie"  # 150 points, no stock or per-member limit


@dataclass(frozen=True)
class Sizes:
    """Operation counts; the same count for the core and its baseline keeps them comparable."""

    earn_ops: int
    redeem_ops: int
    bare_ops: int
    members: int  # pool size per measurement
    lot_points: int  # average size of a pre-funded lot (redeem draws ~1-3 of them)
    balance_lots: int
    balance_calls: int
    concurrent_clients: int
    blocks: int  # each workload runs in this many blocks, alternating core and baseline
    # PostgreSQL commits wait for an fsync (~3 ms here) where SQLite in WAL/NORMAL does not,
    # so it runs fewer operations to stay within a few seconds per measurement.
    postgres_share: float = 0.2

    def ops(self, engine: str, count: int) -> int:
        """`count` scaled for `engine`."""
        return count if engine == "sqlite" else max(5, int(count * self.postgres_share))

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            earn_ops=1500,
            redeem_ops=1500,
            bare_ops=2500,
            members=100,
            lot_points=100,
            balance_lots=10_000,
            balance_calls=200,
            concurrent_clients=4,
            blocks=6,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            earn_ops=20,
            redeem_ops=20,
            bare_ops=20,
            members=5,
            lot_points=100,
            balance_lots=200,
            balance_calls=10,
            concurrent_clients=2,
            blocks=2,
            postgres_share=1.0,
        )


def postgres_url() -> str:
    """The PostgreSQL server to benchmark on (a database we may create schemas in)."""
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
