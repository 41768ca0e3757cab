"""`loyalty import-purchases` of a generated CSV file: rows per second and the import process's
peak memory, on SQLite and PostgreSQL.

`python -m benchmarks import [--rows N] [--engine sqlite|postgresql] [--quick] [--no-save]`.
The goal is for 1,000,000 rows: under 5 minutes on PostgreSQL, under 200 MB. The file has a
purchase history of 5,000 customers over the last two years (so about half of the rows are
old enough for their points to expire on arrival, each with its own expiry journal).
"""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.databases import fresh_target
from benchmarks.docs import replace_section
from benchmarks.settings import BENCHMARKS_DOC, postgres_url
from bot.clock import SystemClock
from bot.settings import EXAMPLE_PROGRAM
from core.customers import ImportedCustomer
from core.loyalty import Loyalty
from core.program import load_program
from storage.database import SqlDatabase

START = "<!-- import:start (written by python -m benchmarks import) -->"
END = "<!-- import:end -->"
CUSTOMERS = 5_000
GOAL_ROWS = 1_000_000
GOAL_SECONDS = 300
GOAL_MB = 200
DEFAULT_ROWS = 50_000
QUICK_ROWS = 300


@dataclass(frozen=True)
class Measurement:
    engine: str
    rows: int
    seconds: float
    peak_mb: float
    summary: str

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def projected_minutes(self) -> float:
        return GOAL_ROWS / self.rate / 60


def markdown(results: list[Measurement]) -> str:
    lines = [
        "| engine | rows | seconds | rows/s | peak memory MB | 1,000,000 rows at this rate |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        lines.append(
            f"| {m.engine} | {m.rows:,} | {m.seconds:,.1f} | {m.rate:,.0f} | {m.peak_mb:,.0f}"
            f" | {m.projected_minutes:,.1f} min |"
        )
    lines.append("")
    for m in results:
        time_goal = "met" if m.projected_minutes * 60 < GOAL_SECONDS else "**missed**"
        memory_goal = "met" if m.peak_mb < GOAL_MB else "**missed**"
        goals = f"memory < {GOAL_MB} MB: {memory_goal}"
        if m.engine == "postgresql":
            goals += f"; 1M rows < 5 min: {time_goal}"
        lines.append(f"- {m.engine}: `{m.summary}`; {goals}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(
        f"- {platform.machine()}, {os.cpu_count()} CPUs, load average {load} at the end,"
        f" Python {platform.python_version()}; PostgreSQL over TCP on localhost"
    )
    return "\n".join(lines) + "\n"


def write_purchases(path: Path, rows: int, codes: list[str]) -> None:
    """A purchase history: `rows` receipts of the customers over the last two years."""
    now = datetime.now(UTC)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member", "receipt", "amount", "currency", "occurred_at", "store",
                         "channel", "cashier"])  # fmt: skip
        for n in range(rows):
            when = now - timedelta(minutes=(n * 7919) % (730 * 24 * 60))
            writer.writerow([codes[n % len(codes)], f"H-{n}", f"{3 + n % 60}.{n % 100:02d}",
                             "USD", when.isoformat(timespec="seconds"), "main-st", "store",
                             f"cashier-{n % 7}"])  # fmt: skip


def seed(url: str) -> list[str]:
    """The customer list; `customer:<id>` references for the purchase file."""
    db = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(db, load_program(EXAMPLE_PROGRAM), SystemClock())
        for start in range(0, CUSTOMERS, 500):
            loyalty.import_customers(
                [ImportedCustomer(customer_id=f"C-{n}", name=f"Customer {n}")
                 for n in range(start, min(start + 500, CUSTOMERS))]
            )  # fmt: skip
    finally:
        db.dispose()
    return [f"customer:C-{n}" for n in range(CUSTOMERS)]


def measure(engine: str, rows: int, echo: Callable[[str], None]) -> Measurement:
    with fresh_target(engine, postgres_url()) as target, tempfile.TemporaryDirectory() as tmp:
        codes = seed(target.url)
        path = Path(tmp) / "purchases.csv"
        write_purchases(path, rows, codes)
        env = {**os.environ, "DATABASE_URL": target.url}
        command = [str(Path(sys.executable).with_name("loyalty")), "import-purchases", str(path)]
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=tmp, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        output = process.stdout.read().decode() if process.stdout else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"import failed: {output}")
        summary = output.strip().splitlines()[0]
        echo(f"{engine}: {rows:,} rows in {seconds:,.1f} s: {summary}")
        # ru_maxrss is in kilobytes on Linux.
        return Measurement(engine, rows, seconds, usage.ru_maxrss / 1024, summary)


def run_and_report(
    *, engines: list[str], rows: int | None, quick: bool, save: bool,
    echo: Callable[[str], None] = print,
) -> list[Measurement]:  # fmt: skip
    """Measure each engine; full runs replace the table in docs/BENCHMARKS.md."""
    count = rows or (QUICK_ROWS if quick else DEFAULT_ROWS)
    results = [measure(engine, count, echo) for engine in engines]
    table = markdown(results)
    echo(table)
    if save and not quick:
        replace_section(BENCHMARKS_DOC, START, END, table)
    return results
