"""Nudge planning over a large membership on PostgreSQL, beside the bare SQL selecting the same
members in the same run.

A schema gets N members (bulk SQL, no app code) with what makes the kinds due on one day in a
realistic share: open lots a year old in a spread (points expiring), fresh earnings near a
reward's price, last purchases spread over a year (win-back), unused vouchers, streaks ending
today, weekly challenges ending tomorrow, tier windows closing, birthdays. Then, in a child
process (so its peak resident memory is the planner's own), rounds alternate the two sides:

- **bare SQL**: each kind's selecting query run on the driver, rows fetched, nothing else;
- **planner**: `NudgePlanner.plan(now)`: the same queries, then each member's local time,
  quiet hours, the cap, the dedupe check and the nudges queued in the outbox (the day's
  outbox rows, its nudges, deleted before each round, so every round plans the same day from
  scratch; the win-backs of earlier days stay, as in a running program).

The win-back and birthday bonuses are off here: each is a ledger journal per member (measured
by the ledger suite), which would swamp what this measures.

`python -m benchmarks nudges [--members N] [--quick]` (1,000,000 by default).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.databases import Target, fresh_target
from benchmarks.docs import replace_section
from benchmarks.results import machine
from benchmarks.settings import BENCHMARKS_DOC, PROGRAM_FILE, RESULTS_DIR, postgres_url

START = "<!-- nudges:start (written by python -m benchmarks nudges) -->"
END = "<!-- nudges:end -->"
GOAL_SECONDS = 10.0
GOAL_MB = 300.0
# 10:30 in New York (the example program's zone) on a Wednesday.
NOW = datetime(2026, 6, 10, 14, 30, tzinfo=UTC)

# Every statement is bulk SQL over generate_series: g is the member id.
SEED = [
    "INSERT INTO journal (id, kind, key, request_hash, effective_at, created_at, meta)"
    " VALUES (1, 'award', 'bench-seed', '', %(now)s, %(now)s, '{{}}')",
    "INSERT INTO member (id, code, code_key, display_name, role, created_at, birthday)"
    " SELECT g, 'N' || g, 'N' || g, 'M' || g, 0, %(now)s - make_interval(days => 31 + g % 700),"
    " CASE WHEN g % 4 = 0 THEN make_date(1990, 1 + (g / 4) % 12, 1 + (g / 48) % 28) END"
    " FROM generate_series(1, {n}) g",
    "INSERT INTO identity (platform, external_id, member_id, display_name)"
    " SELECT 'telegram', g::text, g, 'M' || g FROM generate_series(1, {n}) g",
    "INSERT INTO account (member_id, purpose, balance, version)"
    " SELECT g, 'available', g % 1300, 0 FROM generate_series(1, {n}) g",
    # One open lot per member, earned 0-364 days ago: about 4% expire within 14 days, and
    # the fresh ones (a week old at most) carry the near-reward nudges.
    "INSERT INTO lot (member_id, journal_id, amount, remaining, state, earned_at, available_at,"
    " expires_at) SELECT g, 1, 1 + g % 1300, 1 + g % 1300, 'available',"
    " %(now)s - make_interval(days => g % 365), %(now)s - make_interval(days => g % 365),"
    " %(now)s - make_interval(days => g % 365) + interval '365 days'"
    " FROM generate_series(1, {n}) g",
    # Nine in ten bought, last 0-364 days ago (about 2% became inactive for 30 days this week).
    "INSERT INTO purchase (receipt, member_id, amount_minor, points, journal_id, occurred_at,"
    " refunded_minor, refunded_points)"
    " SELECT 'R' || g, g, 1000, 10, 1, %(now)s - make_interval(days => (g * 7) % 365), 0, 0"
    " FROM generate_series(1, {n}) g WHERE g % 10 <> 0",
    "INSERT INTO journal (id, kind, key, request_hash, effective_at, created_at, meta)"
    " SELECT 100000000 + g, 'redeem', 'bench-r' || g, '', %(now)s, %(now)s, '{{}}'"
    " FROM generate_series(1, {n}) g WHERE g % 20 = 0",
    "INSERT INTO redemption (member_id, reward_id, points, voucher, journal_id, created_at,"
    " valid_until) SELECT g, 'cookie', 150, 'V' || g, 100000000 + g, %(now)s,"
    " %(now)s + make_interval(days => g % 30, hours => 1) FROM generate_series(1, {n}) g"
    " WHERE g % 20 = 0",
    # Streaks (the daily-habit challenge) of one in ten members; a seventh end today.
    "INSERT INTO challenge_progress (member_id, period, challenge_id, value, target,"
    " window_end, last_day, streak, streak_last_day, streak_ends_at, updated_at,"
    " reward_points, rewards)"
    " SELECT g, '2026-06', 'daily-habit', 2, 5, %(now)s + interval '21 days', DATE '2026-06-30',"
    " 2, DATE '2026-06-09', %(today_ends)s + make_interval(days => g % 7), %(now)s, 0, 0"
    " FROM generate_series(1, {n}) g WHERE g % 10 = 2",
    # Weekly visits of one in ten; a seventh of them end tomorrow.
    "INSERT INTO challenge_progress (member_id, period, challenge_id, value, target,"
    " window_end, last_day, updated_at, reward_points, rewards, streak)"
    " SELECT g, '2026-W24', 'three-visits', 1, 3,"
    " %(tomorrow_ends)s + make_interval(days => g % 7), DATE '2026-06-14', %(now)s, 0, 0, 0"
    " FROM generate_series(1, {n}) g WHERE g % 10 = 1",
    "INSERT INTO member_tier (member_id, tier_id, since, until, counts_from)"
    " SELECT g, 'silver', %(now)s - interval '300 days', %(now)s + make_interval(days => g % 90),"
    " %(now)s - make_interval(days => 365 - g % 90) FROM generate_series(1, {n}) g"
    " WHERE g % 10 = 3",
]

# The win-backs of earlier days, sent: a member away for longer than a week past the cut-off had
# theirs when they crossed it (one per spell, keyed by the spell's start as the planner keys
# it), planned more than a week ago, so the cap does not count it. Only the spells that began
# in the week past the cut-off are still owed one, as on any day of a running program.
HISTORY = (
    "INSERT INTO outbox (member_id, message_key, params, category, dedupe_key, status, attempts,"
    " not_before, created_at, sent_at) SELECT s.id, 'nudge.winback', '{{}}', 'winback',"
    " 'nudge:winback:' || s.id || ':' || CAST(s.seen AS TEXT), 'sent', 1,"
    " s.seen + interval '30 days', s.seen + interval '30 days', s.seen + interval '30 days'"
    " FROM (SELECT m.id, COALESCE(MAX(p.occurred_at), m.created_at)"
    " AS seen FROM member m LEFT JOIN purchase p ON p.member_id = m.id GROUP BY m.id) s"
    " WHERE s.seen <= %(now)s - interval '37 days'"
)


@dataclass
class Report:
    members: int
    seed_seconds: float = 0.0
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (bare s, planner s)
    due: dict[str, int] = field(default_factory=dict)
    planned: int = 0
    queued: int = 0
    capped: int = 0
    peak_mb: float = 0.0
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        bare = statistics.median(b for b, _ in self.rounds)
        plan = statistics.median(p for _, p in self.rounds)
        ratios = [p / b for b, p in self.rounds]
        met = "met" if plan < GOAL_SECONDS and self.peak_mb < GOAL_MB else "**missed**"
        selected = sum(self.due.values())
        lines = [
            "| members | rounds | bare SQL, median (range) | planner, median (range)"
            " | planner ÷ bare, median (range) | peak RSS | goal < 10 s, < 300 MB |",
            "|---:|---:|---|---|---|---:|---|",
            f"| {self.members:,} | {len(self.rounds)}"
            f" | {bare:.2f} s ({min(b for b, _ in self.rounds):.2f}–"
            f"{max(b for b, _ in self.rounds):.2f})"
            f" | **{plan:.2f} s** ({min(p for _, p in self.rounds):.2f}–"
            f"{max(p for _, p in self.rounds):.2f})"
            f" | {statistics.median(ratios):.1f} ({min(ratios):.1f}–{max(ratios):.1f})"
            f" | {self.peak_mb:.0f} MB | {met} |",
            "",
            f"Selected by the kinds' queries: {selected:,} rows"
            f" ({', '.join(f'{k} {v:,}' for k, v in self.due.items())});"
            f" planned and queued {self.queued:,} nudges, {self.capped:,} held back by the cap."
            f" Seeded in {self.seed_seconds:.0f} s.",
        ]
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def seed(target: Target, members: int) -> float:
    started = time.perf_counter()
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    local = NOW.astimezone(zone)
    today_ends = datetime.combine(local.date(), datetime.min.time(), tzinfo=zone)
    params = {
        "now": NOW,
        "today_ends": (today_ends.replace(day=local.day + 1)).astimezone(UTC),
        "tomorrow_ends": (today_ends.replace(day=local.day + 2)).astimezone(UTC),
    }
    with target.connect() as conn:
        for statement in [*SEED, HISTORY]:
            # Modulo is `%` in SQL, which psycopg reads as a placeholder unless doubled.
            sql = statement.format(n=members).replace(" % ", " %% ")
            conn.execute(sql, params)
        conn.commit()
        # As autovacuum leaves a running program's older rows: visible to index-only scans.
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def child(url: str, rounds: int) -> dict[str, object]:
    """Run in a fresh process: alternate bare SQL and the planner; the peak RSS."""
    from core.nudges import KIND_CATEGORY, Due, NudgePlanner, Window
    from core.program import load_program
    from storage.database import SqlDatabase
    from storage.nudge_store import SqlNudgeStore
    from storage.sql import Row

    program = load_program(PROGRAM_FILE)
    assert program.nudges is not None
    rules = program.nudges.model_copy(
        update={
            "winback": program.nudges.winback.model_copy(update={"bonus_points": None})
            if program.nudges.winback
            else None,
            "birthday": program.nudges.birthday.model_copy(update={"bonus_points": None})
            if program.nudges.birthday
            else None,
        }
    )
    program = program.model_copy(update={"nudges": rules})
    database = SqlDatabase.from_url(url)
    store = SqlNudgeStore(database)
    planner = NudgePlanner(store, database, program)

    class BareStore(SqlNudgeStore):
        def _rows(self, rows: list[Row]) -> list[Due]:
            return []  # fetched by the driver, then dropped: no conversion, no planning

    # The planner's own selecting queries with its own arguments, each kind's rows fetched.
    selecting = NudgePlanner(BareStore(database), database, program)

    def bare() -> float:
        started = time.perf_counter()
        for kind in rules.enabled():
            window = Window(now=NOW, category=KIND_CATEGORY[kind])
            selecting._select(kind, rules, window)
        return time.perf_counter() - started

    def plan() -> tuple[float, object]:
        # This day's nudges go; the earlier days' win-backs (HISTORY) stay.
        today = "DELETE FROM outbox WHERE created_at >= %s"
        database.run_sql(lambda sql: sql.run_text(today, [NOW]))
        # Vacuumed (untimed): a running program never writes the same keys again over the
        # dead rows of a deleted day, which its unique indexes would have to step over.
        autocommit = database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with autocommit as conn:
            conn.exec_driver_sql("VACUUM outbox")
        started = time.perf_counter()
        result = planner.plan(NOW)
        return time.perf_counter() - started, result

    results: list[tuple[float, float]] = []
    last = None
    for n in range(rounds):
        if n % 2 == 0:
            b = bare()
            p, last = plan()
        else:
            p, last = plan()
            b = bare()
        results.append((b, p))
    database.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert last is not None
    return {
        "rounds": results,
        "due": last.due,  # type: ignore[attr-defined]
        "planned": last.count,  # type: ignore[attr-defined]
        "queued": last.queued,  # type: ignore[attr-defined]
        "capped": last.capped,  # type: ignore[attr-defined]
        "peak_mb": peak_kb / 1024,
    }


def run(members: int, rounds: int, echo: Callable[[str], None]) -> Report:
    report = Report(members=members, notes=[_machine()])
    with fresh_target("postgresql", postgres_url()) as target:
        echo(f"nudges: seeding {members:,} members ...")
        report.seed_seconds = seed(target, members)
        echo(f"nudges: seeded in {report.seed_seconds:.0f} s; {rounds} rounds in a child process")
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.nudges", "--child", target.url, str(rounds)],
            capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"the measuring child failed:\n{out.stderr}")
        data = json.loads(out.stdout.strip().splitlines()[-1])
    report.rounds = [(float(b), float(p)) for b, p in data["rounds"]]
    report.due = {str(k): int(v) for k, v in data["due"].items()}
    report.planned, report.queued = int(data["planned"]), int(data["queued"])
    report.capped, report.peak_mb = int(data["capped"]), float(data["peak_mb"])
    return report


def run_and_report(
    quick: bool, members: int | None, save: bool, echo: Callable[[str], None] = print
) -> Report:
    """Run, print, and (the full size only) replace the table in the docs."""
    size = members or (20_000 if quick else 1_000_000)
    report = run(size, 2 if quick else 5, echo)
    text = report.markdown()
    echo(text)
    if save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        complete = not quick and members is None
        (RESULTS_DIR / ("nudges.md" if complete else "nudges-partial.md")).write_text(text)
        if complete or (members is not None and members >= 100_000 and not quick):
            replace_section(Path(BENCHMARKS_DOC), START, END, text)
    return report


def _machine() -> str:
    return machine("PostgreSQL over TCP on localhost")


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--child":
    print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
