"""A broadcast to a large segment: the time to queue it, then delivery at the platform's limit.

- **Queue**: N members on PostgreSQL (bulk SQL); in a child process, rounds alternate
  `Broadcasts.compose` + `send_now` (the audience and a 10% holdout drawn, one outbox row per
  recipient, one transaction) with the bare statement inserting the same number of outbox rows
  (`INSERT ... SELECT` from the member table); each round starts from an empty outbox. The
  child's resident memory is read before and after each send: queueing is set-based, so it stays
  flat however large the audience.
- **Delivery**: `loyalty run` (real subprocesses) drains that broadcast against the fake Bot API,
  first enforcing 30 sends/s overall (answering 429 above it), then allowing 1,000/s with one and
  with three workers; the rate is taken over 3,000 accepted sends.

`python -m benchmarks broadcasts [--members N] [--quick]` (100,000 by default).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.databases import Target, fresh_target
from benchmarks.docs import replace_section
from benchmarks.results import machine
from benchmarks.settings import BENCHMARKS_DOC, RESULTS_DIR, postgres_url
from benchmarks.telegram_support import (
    RecordingFake,
    bot_env,
    bot_process,
    loyalty_command,
    running_fake,
    wait_until,
)

START = "<!-- broadcasts:start (written by python -m benchmarks broadcasts) -->"
END = "<!-- broadcasts:end -->"
QUEUE_GOAL = 10.0
RATE_GOAL = 0.95 * 30
CHAT_BASE = 700_000_000
NOW = datetime(2026, 6, 10, 14, 30, tzinfo=UTC)

SEED = [
    # Quiet hours off for everyone: the rate must not depend on the hour the benchmark runs.
    "INSERT INTO member (id, code, code_key, display_name, role, created_at, quiet_start,"
    " quiet_end) SELECT g, 'B' || g, 'B' || g, 'M' || g, 0, %(now)s, 0, 0"
    " FROM generate_series(1, {n}) g",
    "INSERT INTO identity (platform, external_id, member_id, display_name)"
    " SELECT 'telegram', ({base} + g)::text, g, 'M' || g FROM generate_series(1, {n}) g",
]
BARE = (
    "INSERT INTO outbox (member_id, message_key, params, category, dedupe_key, status,"
    " attempts, not_before, created_at) SELECT m.id, 'broadcast.message', %(params)s,"
    " 'broadcast', 'bare:' || m.id, 'queued', 0, %(now)s, %(now)s FROM member m"
    " WHERE m.id %% 10 <> 0"
)


@dataclass
class Rate:
    label: str
    sends: int
    seconds: float
    too_many: int

    @property
    def per_second(self) -> float:
        return (self.sends - 1) / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Report:
    members: int
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (bare s, broadcast s)
    rss_growth_mb: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    recipients: int = 0
    holdout: int = 0
    rates: list[Rate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        bare = [b for b, _ in self.rounds]
        sent = [s for _, s in self.rounds]
        ratios = [s / b for b, s in self.rounds]
        queue_met = "met" if statistics.median(sent) < QUEUE_GOAL else "**missed**"
        lines = [
            "| audience | rounds | bare INSERT … SELECT, median (range) | broadcast queued,"
            " median (range) | ÷ bare, median (range) | RSS growth while queueing | goal < 10 s |",
            "|---:|---:|---|---|---|---|---|",
            f"| {self.members:,} ({self.recipients:,} recipients, {self.holdout:,} held back)"
            f" | {len(self.rounds)} | {statistics.median(bare):.2f} s ({min(bare):.2f}–"
            f"{max(bare):.2f}) | **{statistics.median(sent):.2f} s** ({min(sent):.2f}–"
            f"{max(sent):.2f}) | {statistics.median(ratios):.1f} ({min(ratios):.1f}–"
            f"{max(ratios):.1f}) | {max(self.rss_growth_mb):.1f} MB at most"
            f" (peak {self.peak_mb:.0f} MB) | {queue_met} |",
            "",
            "| delivery | accepted sends | sends/s | 429s | goal |",
            "|---|---:|---:|---:|---|",
        ]
        for rate in self.rates:
            goal = ""
            if "30/s" in rate.label:
                ok = rate.per_second >= RATE_GOAL and rate.too_many == 0
                goal = ("met" if ok else "**missed**") + " (≥ 28.5/s, no 429)"
            lines.append(
                f"| {rate.label} | {rate.sends:,} | **{rate.per_second:.1f}** | {rate.too_many}"
                f" | {goal} |"
            )
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def seed(target: Target, members: int) -> None:
    with target.connect() as conn:
        for statement in SEED:
            sql = statement.format(n=members, base=CHAT_BASE).replace(" % ", " %% ")
            conn.execute(sql, {"now": NOW})
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(url: str, rounds: int) -> dict[str, object]:
    """Alternate the bare insert and the broadcast; leave the last broadcast queued."""
    from benchmarks.settings import PROGRAM_FILE
    from core.broadcasts import Broadcasts
    from core.program import load_program
    from storage.broadcast_store import SqlBroadcastStore
    from storage.database import SqlDatabase
    from storage.outbox_codec import dump_params
    from storage.sql import Sql

    database = SqlDatabase.from_url(url)
    broadcasts = Broadcasts(SqlBroadcastStore(database), database, load_program(PROGRAM_FILE))
    params = dump_params({"text": {"$body": "New beans are in"}})

    def clear() -> None:
        def work(sql: Sql) -> None:
            for table in ("outbox", "broadcast_member", "broadcast"):
                sql.run_text(f"DELETE FROM {table}")

        database.run_sql(work)

    def bare() -> float:
        clear()
        started = time.perf_counter()
        # Written for psycopg (the benchmark runs on PostgreSQL only).
        database.run_sql(lambda sql: sql.run_text(BARE, {"params": params, "now": NOW}))
        return time.perf_counter() - started

    growth: list[float] = []

    def broadcast() -> tuple[float, tuple[int, int]]:
        clear()
        before = _rss_mb()
        started = time.perf_counter()
        draft = broadcasts.compose(
            author_id=None, segment_text="all", body="New beans are in", now=datetime.now(UTC)
        )
        sizes = broadcasts.send_now(draft.broadcast.id, datetime.now(UTC))
        seconds = time.perf_counter() - started
        growth.append(_rss_mb() - before)
        return seconds, sizes

    results: list[tuple[float, float]] = []
    sizes = (0, 0)
    for n in range(rounds):
        if n % 2 == 0:
            b = bare()
            s, sizes = broadcast()
        else:
            b = bare()  # the last side is always the broadcast: it stays queued for delivery
            s, sizes = broadcast()
        results.append((b, s))
    database.dispose()
    from resource import RUSAGE_SELF, getrusage

    return {
        "rounds": results,
        "growth": growth,
        "peak_mb": getrusage(RUSAGE_SELF).ru_maxrss / 1024,
        "audience": sizes[0],
        "holdout": sizes[1],
    }


@contextmanager
def _workers(count: int, env: dict[str, str], cwd: Path) -> Iterator[None]:
    with ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(bot_process(loyalty_command(), env, cwd, stderr=subprocess.DEVNULL))
        yield


def measure(fake: RecordingFake, label: str, sends: int, workers: int, env: dict[str, str],
            cwd: Path) -> Rate:  # fmt: skip
    fake.reset_replies()
    before_429 = fake.too_many_requests
    with _workers(workers, env, cwd):
        wait_until(lambda: len(fake.replies) >= sends, 60 + 2 * sends / 25, label, None, 0.05)
    times = sorted(at for at, _ in fake.replies)[:sends]
    return Rate(label, len(times), times[-1] - times[0], fake.too_many_requests - before_429)


def run(members: int, rounds: int, sends: int, echo: Callable[[str], None]) -> Report:
    report = Report(members=members, notes=[_machine()])
    with fresh_target("postgresql", postgres_url()) as target:
        echo(f"broadcasts: seeding {members:,} members ...")
        seed(target, members)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.broadcasts", "--child", target.url, str(rounds)],
            capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"the measuring child failed:\n{out.stderr}")
        data = json.loads(out.stdout.strip().splitlines()[-1])
        report.rounds = [(float(b), float(s)) for b, s in data["rounds"]]
        report.rss_growth_mb = [float(x) for x in data["growth"]]
        report.peak_mb = float(data["peak_mb"])
        report.recipients = int(data["audience"]) - int(data["holdout"])
        report.holdout = int(data["holdout"])
        echo(f"broadcasts: queued {report.recipients:,}; delivery over {sends:,} sends each")
        with running_fake() as fake, _tmp() as cwd:
            env = bot_env(fake, target.url)
            fake.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
            report.rates.append(measure(fake, "fake enforcing 30/s, 1 worker", sends, 1, env, cwd))
            echo(f"broadcasts: {report.rates[-1]}")
            fake.enforce_rate(global_per_sec=1000, per_chat_per_sec=1)
            for workers in (1, 3):
                label = f"fake allowing 1,000/s, {workers} worker{'s' if workers > 1 else ''}"
                report.rates.append(measure(fake, label, sends, workers, env, cwd))
                echo(f"broadcasts: {report.rates[-1]}")
    report.notes.append(
        "Workers of one bot token draw on one send budget (TELEGRAM_SENDS_PER_SECOND, in the"
        " database on PostgreSQL; docs/DELIVERY.md)."
    )
    return report


@contextmanager
def _tmp() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="loyalty-broadcast-bench-") as tmp:
        yield Path(tmp)


def run_and_report(
    quick: bool, members: int | None, save: bool, echo: Callable[[str], None] = print
) -> Report:
    """Run, print, and (the default size only) replace the table in the docs."""
    size = members or (5_000 if quick else 100_000)
    report = run(size, 2 if quick else 5, 300 if quick else 3_000, echo)
    text = report.markdown()
    echo(text)
    if save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        complete = not quick and members is None
        (RESULTS_DIR / ("broadcasts.md" if complete else "broadcasts-partial.md")).write_text(text)
        if complete:
            replace_section(Path(BENCHMARKS_DOC), START, END, text)
    return report


def _machine() -> str:
    return machine("PostgreSQL over TCP on localhost")


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--child":
    print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
