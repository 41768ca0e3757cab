"""Issue 3's benchmarks, `python -m benchmarks telegram`: /balance end to end through
`loyalty run` against the bare PTB bot, and the outbox dispatcher against the flood limits."""

from __future__ import annotations

import io
import json
import pstats
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.outbox_rate import run_outbox
from benchmarks.results import machine
from benchmarks.telegram_balance import BalanceSizes, run_balance
from benchmarks.telegram_report import TelegramReport

FULL_NOTIFICATIONS = 3_000
QUICK_NOTIFICATIONS = 300


def run_telegram(
    *,
    quick: bool = False,
    only: str | None = None,
    notifications: int | None = None,
    balance_sizes: BalanceSizes | None = None,
    profile_dir: Path | None = None,
    echo: Callable[[str], None] = print,
) -> TelegramReport:
    report = TelegramReport(notes=[_machine()])
    if only in (None, "balance"):
        sizes = balance_sizes or (BalanceSizes.quick() if quick else BalanceSizes.full())
        started = time.perf_counter()
        report.balance = run_balance(sizes, profile_dir)
        echo(f"balance: {time.perf_counter() - started:.1f} s")
    if only in (None, "outbox"):
        count = notifications or (QUICK_NOTIFICATIONS if quick else FULL_NOTIFICATIONS)
        started = time.perf_counter()
        report.outbox = run_outbox(count)
        echo(f"outbox: {time.perf_counter() - started:.1f} s")
    return report


def _machine() -> str:
    return machine("the bot and the fake Bot API on the same machine, SQLite file in WAL")


def profile_summary(directory: Path, top: int = 15) -> str:
    """The phase timings and the heaviest functions of a profiled `loyalty run`."""
    out = io.StringIO()
    phases_file = directory / "phases.json"
    if phases_file.exists():
        phases = json.loads(phases_file.read_text(encoding="utf-8"))
        out.write("phase | calls | total s | mean ms\n")
        for name, p in sorted(phases.items(), key=lambda kv: -kv[1]["total_s"]):
            out.write(f"{name} | {p['calls']} | {p['total_s']:.2f} | {p['mean_ms']:.2f}\n")
    for name in ("loop.prof", "threads.prof"):
        if (directory / name).exists():
            out.write(f"\n{name}, by own time:\n")
            stats = pstats.Stats(str(directory / name), stream=out)
            stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()
