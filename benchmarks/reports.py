"""`loyalty report` over a big ledger on PostgreSQL, beside the bare SQL aggregates it runs.

Seeds a fresh schema with set-based SQL (`generate_series`): 100,000 members with their three
accounts, 1,000,000 journals over the last 400 days (70% purchases, 15% awards, 10%
redemptions, 5% expiries) with two postings each, a lot per purchase and award, a purchase row
per purchase, a redemption per redemption, 50,000 recognition gifts and 200,000 outbox rows;
then cached balances from the postings. Journal times grow with their ids (with minutes of
jitter), as a live ledger's do. Three sides are timed, in alternating order (ABC, CBA,
...) for several rounds:

- **cli**: `loyalty report --format json` as its own process (start-up, settings, engine, the
  report, JSON), wall time and peak memory (the child's `ru_maxrss`), as this environment runs
  it (`PYTHONDONTWRITEBYTECODE=1` and a virtualenv synced without byte-code: every module is
  compiled from source at every start);
- **cli, byte-code cached**: the same process as an installed package runs it, its modules'
  byte-code cached (in a temporary `PYTHONPYCACHEPREFIX`, filled by one untimed run first);
- **in-process**: `Reports.of(period)` in this process (the sections and their statements);
- **bare SQL**: the same statements on a bare psycopg connection, results fetched, nothing else.

Two periods: the default (the last 30 days) and the whole history (every journal in range).
The medians go into docs/BENCHMARKS.md with their range, and EXPLAIN names the indexes each
statement's plan uses.

`python -m benchmarks reports [--quick] [--journals N] [--members N]`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.databases import Target, fresh_target
from benchmarks.docs import replace_section
from benchmarks.results import machine
from benchmarks.settings import BENCHMARKS_DOC, PROGRAM_FILE, RESULTS_DIR, postgres_url
from bot.clock import SystemClock
from core.program import load_program
from core.report_period import ReportPeriod, local_midnights, period_of
from core.reports import EXPIRY_HORIZONS, TOP_REWARDS, Reports
from storage import flow_cache
from storage.database import SqlDatabase
from storage.flow_cache import FlowCache, cached_flows
from storage.repositories import reports as report_sql
from storage.repositories.reports import SqlReports
from storage.sql import Sql, flavor_for

START = "<!-- reports:start (written by python -m benchmarks reports) -->"
END = "<!-- reports:end -->"
GOAL_SECONDS, GOAL_MB = 3.0, 200.0
HISTORY_DAYS = 400
BENCH_ZONE = "America/New_York"  # the program file's, which the report buckets days in

_SEED = [
    # Members over the history, three accounts each (available < pending < debt, as enrolment).
    "INSERT INTO member (code, code_key, display_name, role, created_at)"
    " SELECT 'B' || g, 'B' || g, 'Member ' || g, 0,"
    " now() - make_interval(days => (g * 7919) % {days})"
    " FROM generate_series(1, {members}) g",
    "INSERT INTO account (member_id, purpose, balance, version)"
    " SELECT m.id, p.purpose, 0, 0 FROM member m"
    " CROSS JOIN (VALUES (1, 'available'), (2, 'pending'), (3, 'debt')) p(n, purpose)"
    " ORDER BY m.id, p.n",
    # Journals: kind by g % 20 (0-13 earn, 14-16 award, 17-18 redeem, 19 expire).
    "INSERT INTO journal (kind, key, request_hash, effective_at, created_at, member_id, meta)"
    " SELECT CASE WHEN g % 20 < 14 THEN 'earn' WHEN g % 20 < 17 THEN 'award'"
    " WHEN g % 20 < 19 THEN 'redeem' ELSE 'expire' END, 'bench:' || g, '',"
    " now() - make_interval(secs => ({journals} - g)::bigint * {days} * 86400 / {journals}"
    " + (g::bigint * 7919) % 600),"
    " now(), 1 + (g * 7) % {members}, '{{}}'"
    " FROM generate_series(1, {journals}) g",
    # Two postings per journal: the member's available account and the system side.
    "INSERT INTO posting (journal_id, account_id, amount)"
    " SELECT j.id, CASE WHEN j.kind IN ('earn', 'award') THEN s.issued ELSE a.id END,"
    " CASE WHEN j.kind IN ('earn', 'award') THEN -v.points ELSE -v.points END"
    " FROM journal j JOIN account a ON a.member_id = j.member_id AND a.purpose = 'available'"
    " CROSS JOIN LATERAL (SELECT CASE j.kind WHEN 'earn' THEN 10 + j.id % 40"
    " WHEN 'award' THEN 25 WHEN 'redeem' THEN 20 ELSE 5 END AS points) v"
    " CROSS JOIN (SELECT (SELECT id FROM account WHERE member_id IS NULL"
    " AND purpose = 'issued:purchase') AS issued) s",
    "INSERT INTO posting (journal_id, account_id, amount)"
    " SELECT j.id, CASE WHEN j.kind IN ('earn', 'award') THEN a.id"
    " WHEN j.kind = 'redeem' THEN s.redeemed ELSE s.expired END,"
    " CASE j.kind WHEN 'earn' THEN 10 + j.id % 40 WHEN 'award' THEN 25"
    " WHEN 'redeem' THEN 20 ELSE 5 END"
    " FROM journal j JOIN account a ON a.member_id = j.member_id AND a.purpose = 'available'"
    " CROSS JOIN (SELECT (SELECT id FROM account WHERE member_id IS NULL AND purpose ="
    " 'redeemed') AS redeemed, (SELECT id FROM account WHERE member_id IS NULL AND purpose ="
    " 'expired') AS expired) s",
    "INSERT INTO lot (member_id, journal_id, amount, remaining, state, earned_at,"
    " available_at, expires_at)"
    " SELECT j.member_id, j.id, p.amount, p.amount / 2 + 1, 'available', j.effective_at,"
    " j.effective_at, j.effective_at + interval '365 days'"
    " FROM journal j JOIN posting p ON p.journal_id = j.id AND p.amount > 0"
    " WHERE j.kind IN ('earn', 'award')",
    "INSERT INTO purchase (receipt, member_id, amount_minor, points, journal_id, occurred_at,"
    " refunded_minor, refunded_points)"
    " SELECT 'R-' || j.id, j.member_id, (10 + j.id % 40) * 100, 10 + j.id % 40, j.id,"
    " j.effective_at, 0, 0 FROM journal j WHERE j.kind = 'earn'",
    "INSERT INTO redemption (member_id, reward_id, points, voucher, journal_id, created_at,"
    " valid_until, used_at)"
    " SELECT j.member_id, (ARRAY['cookie', 'iced-tea', 'latte'])[1 + j.id % 3], 20,"
    " 'V-' || j.id, j.id, j.effective_at, j.effective_at + interval '30 days',"
    " CASE WHEN j.id % 2 = 0 THEN j.effective_at + interval '1 day' END"
    " FROM journal j WHERE j.kind = 'redeem'",
    # Gifts in 20 channels (one named, as a /kudos records it) and direct messages.
    "INSERT INTO gift (key, journal_id, giver_id, receiver_id, points, value_tags, reason,"
    " period, day, given_at, revoked, channel, channel_name)"
    " SELECT 'gift:' || j.id, j.id, 1 + (j.id * 13) % {members}, j.member_id, 5,"
    " '[\"teamwork\", \"ownership\"]', 'thanks', '2026-11', '2026-11-01', j.effective_at, false,"
    " CASE WHEN j.id % 21 < 20 THEN 'C' || (j.id % 21) END,"
    " CASE WHEN j.id % 21 = 1 AND j.id % 2 = 0 THEN 'team-1' END"
    " FROM journal j WHERE j.kind = 'award' AND j.id % 3 = 0 LIMIT {gifts}",
    "INSERT INTO outbox (member_id, message_key, params, category, dedupe_key, status,"
    " attempts, not_before, created_at)"
    " SELECT 1 + g % {members}, 'notify.award', '{{}}',"
    " (ARRAY['transactional', 'broadcast'])[1 + g % 2], 'bench:' || g,"
    " (ARRAY['sent', 'sent', 'skipped', 'failed', 'blocked'])[1 + g % 5], 1, now(),"
    " now() - make_interval(secs => (g::bigint * 7919) % ({days} * 86400))"
    " FROM generate_series(1, {outbox}) g",
    "UPDATE account a SET balance = s.total FROM (SELECT account_id, SUM(amount) AS total"
    " FROM posting GROUP BY account_id) s WHERE a.id = s.account_id AND a.member_id IS NOT NULL",
    "ANALYZE",
]


@dataclass(frozen=True)
class Sizes:
    members: int
    journals: int
    rounds: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(members=100_000, journals=1_000_000, rounds=5)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(members=500, journals=5_000, rounds=2)


@dataclass
class PeriodResult:
    """One period's timings: seconds per round for each side, the CLI's peak memory."""

    label: str
    journals_in_range: int
    cli: list[float] = field(default_factory=list)
    cli_mb: list[float] = field(default_factory=list)
    cli_cached: list[float] = field(default_factory=list)
    in_process: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)


@dataclass
class ReportsResult:
    sizes: Sizes
    seed_seconds: float
    periods: list[PeriodResult]
    indexes: dict[str, dict[str, list[str]]]  # period label -> statement -> index names
    notes: list[str] = field(default_factory=list)  # the machine line: cores, load, Python
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def markdown(self) -> str:
        """The results as the docs' table."""
        lines = [
            f"Measured {self.started:%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}"
            f" ({os.cpu_count()} cores), PostgreSQL, {self.sizes.members:,} members and"
            f" {self.sizes.journals:,} journals over {HISTORY_DAYS} days (seeded in"
            f" {self.seed_seconds:.0f} s); median of {self.sizes.rounds} rounds, sides"
            " alternated, range in brackets.",
            "",
            "| period | journals in range | `loyalty report` (process) | process, byte-code"
            " cached | peak memory | report in-process | bare SQL aggregates | goal |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in self.periods:
            lines.append(
                f"| {p.label} | {p.journals_in_range:,} | {_spread(p.cli, 's')} |"
                f" {_spread(p.cli_cached, 's')} | {_spread(p.cli_mb, ' MB', 0)} |"
                f" {_spread(p.in_process, 's')} |"
                f" {_spread(p.bare, 's')} | < {GOAL_SECONDS:.0f} s, < {GOAL_MB:.0f} MB |"
            )
        if self.notes:
            lines += ["", " ".join(self.notes)]
        for label, plans in self.indexes.items():
            lines += ["", f"Indexes in the plans (EXPLAIN), {label}:", ""]
            for name, used in plans.items():
                shown = ", ".join(f"`{i}`" for i in used) or "sequential scans"
                lines.append(f"- `{name}`: {shown}")
        return "\n".join(lines) + "\n"


def _spread(values: list[float], unit: str, digits: int = 2) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    return f"{median:.{digits}f}{unit} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def seed(target: Target, sizes: Sizes) -> float:
    """Fill the schema with set-based statements; seconds taken."""
    started = time.perf_counter()
    params = {
        "members": sizes.members,
        "journals": sizes.journals,
        "days": HISTORY_DAYS,
        "gifts": max(10, sizes.journals // 20),
        "outbox": max(10, sizes.journals // 5),
    }
    with target.connect() as conn:
        for statement in _SEED:
            conn.execute(statement.format(**params))
            conn.commit()
    return time.perf_counter() - started


def _statements(period: ReportPeriod, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, PostgreSQL text, parameters) of every statement a report runs but the flows'."""
    window: dict[str, Any] = {"start": period.start, "end": period.end, "no": False}
    horizons = [now + timedelta(days=d) for d in EXPIRY_HORIZONS]
    expiring: dict[str, Any] = {"now": now, "last": max(horizons)}
    expiring.update({f"until_{n}": until for n, until in enumerate(horizons)})
    named = [
        ("liability", report_sql._LIABILITY, {}),
        ("expiring", report_sql._expiring(len(horizons)), expiring),
        ("top_rewards", report_sql._TOP_REWARDS, {**window, "limit": TOP_REWARDS}),
        ("vouchers", report_sql._VOUCHERS, window),
        ("members", report_sql._MEMBERS, window),
        ("referrals", report_sql._REFERRALS, window),
        ("challenges", report_sql._CHALLENGES, window),
        ("streaks", report_sql._STREAKS, window),
        ("recognition", report_sql._RECOGNITION, window),
        ("values", report_sql._VALUES, window),
        ("channel_gifts", report_sql._CHANNEL_GIFTS, window),
        ("outbox", report_sql._OUTBOX, window),
        ("spending", report_sql._SPENDING, window),
        ("savings", report_sql._SAVINGS, {}),
    ]
    return [(name, query.postgresql, params) for name, query, params in named]


def _flow_statements(
    conn: Any, period: ReportPeriod, now: datetime
) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, PostgreSQL text, parameters) of the flows' statements with the cache as it is:
    the usable blocks' counts, their cached sums and the live rest."""
    end = max(period.end, now)
    zone = ZoneInfo(BENCH_ZONE)
    cut = local_midnights(end, end + timedelta(microseconds=1), zone)[0]
    bounds = {"zone": BENCH_ZONE, "start": period.start, "cut": cut, "size": flow_cache.BLOCK}
    usable = [int(r[0]) for r in conn.execute(flow_cache._USABLE.postgresql, bounds).fetchall()]
    days = local_midnights(period.start, end, zone)
    live = {"start": period.start, "end": end, "no": False, "days": days, "cut": cut}
    ranges = flow_cache._outside(usable)
    live.update({f"lo_{n}": lo for n, (lo, _) in enumerate(ranges)})
    live.update({f"hi_{n}": hi for n, (_, hi) in enumerate(ranges)})
    sums = {"blocks": usable, "start": period.start, "cut": cut}
    return [
        ("flow cache counts", flow_cache._USABLE.postgresql, bounds),
        ("flow cache sums", flow_cache._CACHED_SUMS.postgresql, sums),
        ("flows (live rest)", flow_cache._live(len(ranges)).postgresql, live),
    ]


def fill_flow_cache(database: SqlDatabase, now: datetime) -> tuple[float, int]:
    """The flow cache job's work after the seed, as it runs once the seeded journals settled
    (an hour after they were written: `now` moved on by `SETTLE`); seconds and blocks."""
    cache = FlowCache(database.run_sql, "postgresql", BENCH_ZONE)
    started, blocks = time.perf_counter(), 0
    while (done := cache.refresh(now + flow_cache.SETTLE + timedelta(minutes=1), 16)).lots:
        blocks += done.lots
    with database.engine.connect() as conn:  # fresh statistics for the new tables
        conn.exec_driver_sql("ANALYZE flow_block")
        conn.exec_driver_sql("ANALYZE flow_day")
        conn.commit()
    return time.perf_counter() - started, blocks


def bare_sql(target: Target, period: ReportPeriod, now: datetime) -> float:
    """The report's statements on a bare connection, in one read transaction; seconds."""
    with target.connect() as conn:
        started = time.perf_counter()
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute("SET LOCAL work_mem = '64MB'")
        # The flows as the report reads them: the cached blocks' sums and the rest live.
        end = max(period.end, now)
        flows = {"start": period.start, "end": end, "no": False}
        flows["days"] = local_midnights(period.start, end, ZoneInfo(BENCH_ZONE))
        sql = Sql(conn, flavor_for("postgresql"))
        cached_flows(sql, period.start, end, BENCH_ZONE, report_sql._FLOWS, flows)
        for _, text, params in _statements(period, now):
            conn.execute(text, params).fetchall()
        conn.rollback()
        return time.perf_counter() - started


def indexes_used(target: Target, period: ReportPeriod, now: datetime) -> dict[str, list[str]]:
    """Index names in each statement's plan."""
    used: dict[str, list[str]] = {}
    with target.connect() as conn:
        for name, text, params in _flow_statements(conn, period, now) + _statements(period, now):
            (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + text, params).fetchone()
            found = sorted(set(_index_names(plan[0]["Plan"])))
            used[name] = found
    return used


def _index_names(node: dict[str, Any]) -> Iterator[str]:
    if "Index Name" in node:
        yield str(node["Index Name"])
    for child in node.get("Plans", []):
        yield from _index_names(child)


def cli_report(
    target: Target, period: ReportPeriod, pycache: str | None = None
) -> tuple[float, float]:
    """`loyalty report --format json` as a process: (seconds, peak MB). With `pycache`, its
    byte-code is written to and read from there (a directory of its own)."""
    env = {**os.environ, "DATABASE_URL": target.url, "LOYALTY_PROGRAM": str(PROGRAM_FILE),
           "LOYALTY_ENV": "development"}  # fmt: skip
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    command = [sys.executable, "-m", "bot", "report", "--format", "json",
               "--from", period.first.isoformat(), "--to", period.last.isoformat()]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(child.stderr.read().decode() if child.stderr else "report failed")
    json.loads(out)  # a whole JSON object came out
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def run(sizes: Sizes, echo: Callable[[str], None] = print) -> ReportsResult:
    """Seed, then time the three sides for both periods."""
    program = load_program(PROGRAM_FILE)
    pycache = tempfile.TemporaryDirectory(prefix="loyalty-bench-pycache-")
    with pycache, fresh_target("postgresql", postgres_url()) as target:
        echo(f"reports: seeding {sizes.journals:,} journals, {sizes.members:,} members ...")
        seeded = seed(target, sizes)
        echo(f"reports: seeded in {seeded:.0f} s")
        database = SqlDatabase.from_url(target.url)
        try:
            reports = Reports(SqlReports(database.run_sql, "postgresql"), program, SystemClock())
            now = datetime.now(UTC)
            cache_seconds, blocks = fill_flow_cache(database, now)
            echo(f"reports: flow cache filled, {blocks} blocks in {cache_seconds:.1f} s")
            today = now.astimezone(program.zone).date()
            zone = program.zone
            periods = [
                ("last 30 days (default)", period_of(today - timedelta(days=29), today, zone)),
                ("whole history", period_of(today - timedelta(days=HISTORY_DAYS), today, zone)),
            ]
            results = []
            notes = [
                machine(_SETUP, "before timing") + ".",
                f"Every side reads the flow cache, filled after the seed as the hourly job fills"
                f" it once the journals settled ({blocks} blocks of {flow_cache.BLOCK:,} journal"
                f" ids in {cache_seconds:.0f} s); the bare SQL runs the same flow statements"
                " (the blocks' counts, their sums, the rest live).",
            ]
            cli_report(target, periods[0][1], pycache.name)  # fills the byte-code cache
            for label, period in periods:
                result = PeriodResult(label, _journals_in(target, period))
                sides: list[Callable[[], None]] = [
                    lambda p=period, r=result: _cli(target, p, r),
                    lambda p=period, r=result: r.cli_cached.append(
                        cli_report(target, p, pycache.name)[0]
                    ),
                    lambda p=period, r=result: r.in_process.append(_timed(lambda: reports.of(p))),
                    lambda p=period, r=result: r.bare.append(bare_sql(target, p, now)),
                ]
                for round_ in range(sizes.rounds):
                    for side in sides if round_ % 2 == 0 else reversed(sides):
                        side()
                echo(
                    f"reports: {label}: cli {_spread(result.cli, 's')}"
                    f" (cached {_spread(result.cli_cached, 's')}),"
                    f" {_spread(result.cli_mb, ' MB', 0)}; in-process"
                    f" {_spread(result.in_process, 's')}; bare {_spread(result.bare, 's')}"
                )
                results.append(result)
            indexes = {label: indexes_used(target, p, now) for label, p in periods}
            notes.append(f"Load average {_load()} at the end.")
        finally:
            database.dispose()
    return ReportsResult(sizes, seeded, results, indexes, notes)


_SETUP = "PostgreSQL over TCP on localhost, each report in one REPEATABLE READ transaction"


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _cli(target: Target, period: ReportPeriod, result: PeriodResult) -> None:
    seconds, megabytes = cli_report(target, period)
    result.cli.append(seconds)
    result.cli_mb.append(megabytes)


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _journals_in(target: Target, period: ReportPeriod) -> int:
    with target.connect() as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM journal WHERE effective_at >= %s AND effective_at < %s",
            (period.start, period.end),
        ).fetchone()
        return int(row[0])


def run_and_report(
    *, quick: bool, save: bool, journals: int | None = None, members: int | None = None,
    echo: Callable[[str], None] = print,
) -> ReportsResult:  # fmt: skip
    """Run, print the table, and (unless `save` is off) write it to the docs and results."""
    sizes = Sizes.quick() if quick else Sizes.full()
    if journals or members:
        sizes = Sizes(members=members or sizes.members, journals=journals or sizes.journals,
                      rounds=sizes.rounds)  # fmt: skip
    result = run(sizes, echo)
    table = result.markdown()
    echo(table)
    if save and not quick:
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "reports.md").write_text(table, encoding="utf-8")
        replace_section(BENCHMARKS_DOC, START, END, table)
    return result
