"""Gamification: what 20 active challenges cost an earn, and how big their progress gets.

- **Earn with challenges**: `Loyalty.record_purchase` through the app's message bus, for members
  taking part in 20 challenges that all count purchases (visits, spend, distinct categories,
  streaks; weekly, monthly and fixed windows; half of them opt-in and joined), against the same
  earns for members of the same program without challenges (tiers, leaderboard, referrals and
  guardrails on both sides), on one database in the same run. Rounds alternate the two sides
  (ABBA) and the result is the MEDIAN of the per-round ratios, with their range.
- **Progress tables**: 100,000 members x 20 challenges of progress rows (and the opt-in joins)
  bulk-inserted in the storage layer's row shapes on PostgreSQL; rows and
  `pg_total_relation_size` (table, indexes and TOAST).

`python -m benchmarks challenges [--quick] [--engine sqlite|postgresql]`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

from benchmarks.databases import Target, fresh_target
from benchmarks.docs import replace_section
from benchmarks.results import machine
from benchmarks.seed import FixedClock, enroll_pool
from benchmarks.settings import BENCHMARKS_DOC, NOW, PROGRAM_FILE, RESULTS_DIR, postgres_url
from benchmarks.trace import StatementLog
from benchmarks.workloads import core_earn
from bot.bootstrap import message_bus
from core.challenge_rules import Challenge
from core.gamification import Gamification
from core.loyalty import Loyalty
from core.program import Program, load_program
from storage.database import SqlDatabase
from storage.engine import create_engine_for

GOAL = 0.7
CHALLENGES = 20
START = "<!-- challenges:start (written by python -m benchmarks challenges) -->"
END = "<!-- challenges:end -->"


@dataclass(frozen=True)
class Sizes:
    rounds: int
    earns: int  # per side per round, SQLite (PostgreSQL: a fifth: every commit waits an fsync)
    members: int
    memory_members: int

    def earns_on(self, engine: str) -> int:
        return self.earns if engine == "sqlite" else max(5, self.earns // 5)

    @classmethod
    def full(cls) -> Sizes:
        return cls(rounds=9, earns=500, members=100, memory_members=100_000)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(rounds=2, earns=10, members=4, memory_members=200)


@dataclass
class EarnResult:
    engine: str
    earns: int  # per side per round
    rounds: list[tuple[float, float]]  # (baseline earns/s, with challenges earns/s) per round
    statements: str = ""  # per earn, baseline/with challenges (SQLite only)
    progress_rows: int = 0

    @property
    def ratios(self) -> list[float]:
        return [with_ / base for base, with_ in self.rounds]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)


@dataclass
class MemoryResult:
    members: int
    challenges: int
    tables: list[tuple[str, int, int]] = field(default_factory=list)  # (table, rows, bytes)
    seconds: float = 0.0


@dataclass
class Report:
    earns: list[EarnResult] = field(default_factory=list)
    memory: MemoryResult | None = None
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [
            f"| engine | rounds | earns per side per round | no challenges earns/s (median)"
            f" | {CHALLENGES} challenges earns/s (median) | ratio, median (range)"
            f" | goal ≥ {GOAL} | statements per earn |",
            "|---|---:|---:|---:|---:|---|---|---:|",
        ]
        for r in self.earns:
            base = statistics.median(b for b, _ in r.rounds)
            with_ = statistics.median(w for _, w in r.rounds)
            met = "met" if r.median >= GOAL else "**missed**"
            lines.append(
                f"| {r.engine} | {len(r.rounds)} | {r.earns} | {base:,.0f} | {with_:,.0f}"
                f" | **{r.median:.2f}** ({min(r.ratios):.2f}–{max(r.ratios):.2f}) | {met}"
                f" | {r.statements or 'n/a'} |"
            )
        if self.memory is not None:
            m = self.memory
            lines += ["", f"Progress tables, PostgreSQL, {m.members:,} members × {m.challenges}"
                          f" challenges (filled in {m.seconds:.0f} s):", "",
                      "| table | rows | MB (with indexes) | bytes per row |",
                      "|---|---:|---:|---:|"]  # fmt: skip
            for table, rows, size in m.tables:
                per_row = size / rows if rows else 0
                lines.append(f"| {table} | {rows:,} | {size / 2**20:,.1f} | {per_row:,.0f} |")
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def challenge_program(base: Program, count: int = CHALLENGES) -> Program:
    """The example program with `count` challenges that all count purchases (no challenges:
    the baseline), their targets out of reach: what is measured is keeping progress; a
    completion adds a reward journal (an award, the size of an earn) once per member and
    period, which the tests cover."""
    kinds = ["visits", "spend", "distinct", "streak"]
    windows = [("weekly", None, None), ("monthly", None, None),
               ("fixed", date(2026, 5, 1), date(2026, 7, 31))]  # fmt: skip
    challenges = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        window, starts, ends = windows[n % len(windows)]
        target = 100_000
        challenges.append(
            Challenge.model_validate({
                "id": f"c{n:02d}", "name": f"Challenge {n}", "kind": kind, "target": target,
                "window": window, "starts": starts, "ends": ends, "points": 10,
                "join": "opt_in" if n % 2 else "auto",
                "count": "categories" if kind == "distinct" else "products",
            })
        )  # fmt: skip
    return base.model_copy(update={"challenges": challenges})


def run_earns(target: Target, sizes: Sizes, echo: Callable[[str], None]) -> EarnResult:
    """Alternating rounds of earns without and with challenges on one database."""
    base = load_program(PROGRAM_FILE)
    plain, games = challenge_program(base, 0), challenge_program(base)
    engine = create_engine_for(target.url)
    log = StatementLog()
    if target.engine == "sqlite":
        log.attach_engine(engine)
    sides = {name: _side(engine, program) for name, program in (("plain", plain), ("games", games))}
    pools = {name: enroll_pool(loyalty, name, sizes.members) for name, loyalty in sides.items()}
    gamification = Gamification(sides["games"].db, games, FixedClock(NOW), b"bench")
    for member in pools["games"]:
        for challenge in games.challenges:
            if challenge.opt_in:
                gamification.join(member, challenge.id)
    for name in sides:  # warm-up: caches, system accounts, first progress rows
        core_earn(sides[name], pools[name], sizes.members, f"warm-{name}")
    statements = _statements(log, sides, pools) if target.engine == "sqlite" else ""
    earns = sizes.earns_on(target.engine)
    rounds, done = [], {"plain": 0, "games": 0}
    for r in range(sizes.rounds):
        order = ("plain", "games") if r % 2 == 0 else ("games", "plain")
        rates = {}
        for name in order:
            seconds = core_earn(sides[name], pools[name], earns, f"{name}-r", done[name])
            done[name] += earns
            rates[name] = earns / seconds
        rounds.append((rates["plain"], rates["games"]))
        echo(f"{target.engine} round {r + 1}: {rates['plain']:,.0f} vs {rates['games']:,.0f}"
             f" earns/s ({rates['games'] / rates['plain']:.2f})")  # fmt: skip
    with engine.connect() as conn:
        progress = conn.exec_driver_sql("SELECT COUNT(*) FROM challenge_progress").scalar_one()
    engine.dispose()
    if not progress:
        raise AssertionError("the challenge side wrote no progress: nothing was measured")
    return EarnResult(target.engine, earns, rounds, statements, int(progress))


def _side(engine: object, program: Program) -> Loyalty:
    database = SqlDatabase(engine, bus=message_bus(program))  # type: ignore[arg-type]
    return Loyalty(database, program, FixedClock(NOW))


def _statements(log: StatementLog, sides: dict[str, Loyalty], pools: dict[str, list[int]]) -> str:
    counts = []
    for name in ("plain", "games"):
        log.statements.clear()
        log.active = True
        core_earn(sides[name], pools[name], 1, f"traced-{name}")
        log.active = False
        counts.append(str(len([s for s in log.shapes() if s not in ("BEGIN IMMEDIATE", "COMMIT")])))
    return "/".join(counts)


# -- progress tables at scale (PostgreSQL) ------------------------------------------------------

_FILL = [
    # Members in the storage layer's shape (the progress rows refer to them).
    "INSERT INTO member (code, code_key, display_name, role, language, created_at)"
    " SELECT 'M' || g, 'M' || g, 'Member ' || g, 0, 'en', now()"
    " FROM generate_series(1, %(members)s) g",
    # One row per member and challenge in the current period; a fifth completed; the streak
    # challenges (every fourth) with a run and when it ends.
    "INSERT INTO challenge_progress (member_id, challenge_id, period, value, target, window_end,"
    " last_day, completed_at, reward_journal_id, reward_lot_id, reward_points, rewards, streak,"
    " streak_last_day, streak_ends_at, updated_at)"
    " SELECT m.id, 'c' || lpad(c::text, 2, '0'),"
    " CASE mod(c, 3) WHEN 0 THEN '2026-W23' WHEN 1 THEN '2026-06'"
    " ELSE '2026-05-01..2026-07-31' END,"
    " mod(m.id * 7 + c, 40), 50, now() + interval '5 days', DATE '2026-06-07',"
    " CASE WHEN mod(m.id + c, 5) = 0 THEN now() END, NULL, NULL, 0, mod(m.id + c, 5) / 4,"
    " CASE WHEN mod(c, 4) = 3 THEN mod(m.id, 6) ELSE 0 END,"
    " CASE WHEN mod(c, 4) = 3 THEN DATE '2026-06-01' END,"
    " CASE WHEN mod(c, 4) = 3 THEN now() + interval '1 day' END, now()"
    " FROM member m CROSS JOIN generate_series(0, %(challenges)s - 1) c",
    # Half the challenges are opt-in, and every member joined them.
    "INSERT INTO challenge_member (member_id, challenge_id, joined_at)"
    " SELECT m.id, 'c' || lpad(c::text, 2, '0'), now()"
    " FROM member m CROSS JOIN generate_series(1, %(challenges)s - 1, 2) c",
]
_TABLES = ("challenge_progress", "challenge_member")


def run_memory(target: Target, sizes: Sizes, echo: Callable[[str], None]) -> MemoryResult:
    """Fill the progress tables for many members and measure them."""
    assert target.libpq is not None and target.schema is not None
    result = MemoryResult(members=sizes.memory_members, challenges=CHALLENGES)
    started = time.perf_counter()
    with psycopg.connect(target.libpq, options=f"-c search_path={target.schema}") as conn:
        for statement in _FILL:
            conn.execute(statement, {"members": sizes.memory_members, "challenges": CHALLENGES})
        conn.commit()
        for table in _TABLES:
            rows = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            size = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
            assert rows is not None and size is not None
            result.tables.append((table, int(rows[0]), int(size[0])))
    result.seconds = time.perf_counter() - started
    echo(f"progress tables filled in {result.seconds:.0f} s")
    return result


def run(engines: list[str], sizes: Sizes, echo: Callable[[str], None] = print) -> Report:
    """Every measurement of the suite."""
    report = Report(notes=[_machine()])
    for engine in engines:
        with fresh_target(engine, postgres_url()) as target:
            report.earns.append(run_earns(target, sizes, echo))
    if "postgresql" in engines:
        with fresh_target("postgresql", postgres_url()) as target:
            report.memory = run_memory(target, sizes, echo)
    return report


def run_and_report(
    quick: bool, engines: list[str] | None, save: bool, echo: Callable[[str], None] = print
) -> Report:
    """Run, print, and (full runs on both engines only) replace the table in the docs."""
    report = run(engines or ["sqlite", "postgresql"], Sizes.quick() if quick else Sizes.full(),
                 echo)  # fmt: skip
    text = report.markdown()
    echo(text)
    complete = not quick and engines in (None, ["sqlite", "postgresql"])
    if save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        name = "challenges" if complete else "challenges-partial"
        (RESULTS_DIR / f"{name}.md").write_text(text, encoding="utf-8")
        if complete:
            replace_section(Path(BENCHMARKS_DOC), START, END, text)
    return report


def _machine() -> str:
    return machine("SQLite file in WAL with synchronous=NORMAL; PostgreSQL over TCP on localhost")
