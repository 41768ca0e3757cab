"""/balance end to end: the fake Bot API -> long polling -> `loyalty run` -> sendMessage.

Both bots are real subprocesses polling the same fake (RecordingFake, one per run), one after
the other: `loyalty run` on a SQLite file with many members, and the bare PTB bot
(benchmarks/bare_bot.py) answering every command with a fixed text. Each gets:

- a warm-up (one command per measured user, at most 50), not measured;
- a **burst**: N /balance commands from M users pushed at once; the rate is N over the time
  from the first push to the last reply the fake received. Latencies in a burst are mostly
  queueing (the last command waits for all the others), so they are reported but not judged;
- a **paced** run: commands pushed at a fixed rate well below either bot's capacity, one user
  each; per-command latency (pushed -> reply received by the fake), p50/p99, is judged there.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.telegram_seed import balance_database, sqlite_url
from benchmarks.telegram_support import (
    PROFILE_ENV,
    RecordingFake,
    bot_env,
    bot_process,
    loyalty_command,
    running_fake,
    wait_polling,
    wait_until,
)
from tests.fakes.telegram_api import make_command_update

WARM_UP = 50


@dataclass(frozen=True)
class BalanceSizes:
    members: int  # in the database
    users: int  # distinct Telegram users sending commands (members with lots)
    burst: int  # commands pushed at once
    paced: int  # commands pushed one at a time ...
    paced_rate: float  # ... at this many per second
    blocks: int  # bursts and paced runs are split into blocks, alternating the bots

    @classmethod
    def full(cls) -> BalanceSizes:
        return cls(members=100_000, users=200, burst=2_400, paced=240, paced_rate=20.0, blocks=6)

    @classmethod
    def quick(cls) -> BalanceSizes:
        return cls(members=1_000, users=20, burst=200, paced=40, paced_rate=20.0, blocks=2)


@dataclass(frozen=True)
class BotRun:
    """One bot's numbers."""

    bot: str
    commands: int
    seconds: float
    burst_p50_ms: float
    burst_p99_ms: float
    paced: int
    paced_rate: float
    paced_p50_ms: float
    paced_p99_ms: float
    # Commands/s of each burst block, in order: one round per block.
    block_rates: tuple[float, ...] = ()

    @property
    def per_second(self) -> float:
        return self.commands / self.seconds


@dataclass(frozen=True)
class BalanceResult:
    members: int
    users: int
    loyalty: BotRun
    bare: BotRun

    @property
    def round_ratios(self) -> list[float]:
        """loyalty run / bare PTB in each round (a burst block of each, back to back)."""
        pairs = zip(self.loyalty.block_rates, self.bare.block_rates, strict=True)
        return [ours / bare for ours, bare in pairs]

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios (over all commands when there are no rounds)."""
        if rounds := self.round_ratios:
            return statistics.median(rounds)
        return self.loyalty.per_second / self.bare.per_second


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latencies(pushes: list[tuple[float, int]], replies: list[tuple[float, int]]) -> list[float]:
    """Seconds from each push to its reply: a chat's k-th reply answers its k-th push."""
    pending: defaultdict[int, deque[float]] = defaultdict(deque)
    for at, chat in pushes:
        pending[chat].append(at)
    return [at - pending[chat].popleft() for at, chat in sorted(replies) if pending[chat]]


def _push(fake: RecordingFake, user: int) -> tuple[float, int]:
    update = make_command_update(fake.next_update_id(), user, "/balance", username=f"u{user}")
    at = time.monotonic()
    fake.push_update(update)
    return at, user


@dataclass
class _Bot:
    """One running bot, its own fake, and what it measured so far."""

    name: str
    fake: RecordingFake
    process: subprocess.Popen[bytes]
    commands: int = 0
    seconds: float = 0.0
    burst: list[float] = field(default_factory=list)
    paced: list[float] = field(default_factory=list)
    block_rates: list[float] = field(default_factory=list)

    def wait_replies(self, count: int, timeout: float) -> list[tuple[float, int]]:
        fake = self.fake
        wait_until(lambda: len(fake.replies) >= count, timeout, f"{count} replies", self.process)
        return list(fake.replies)

    def warm_up(self, users: list[int]) -> None:
        self.fake.reset_replies()
        for user in users[:WARM_UP]:
            _push(self.fake, user)
        self.wait_replies(min(WARM_UP, len(users)), 60)

    def run_burst(self, users: list[int], count: int, first: int) -> None:
        self.fake.reset_replies()
        pushes = [_push(self.fake, users[(first + i) % len(users)]) for i in range(count)]
        replies = self.wait_replies(count, 120)
        seconds = max(at for at, _ in replies) - pushes[0][0]
        self.seconds += seconds
        self.commands += count
        self.block_rates.append(count / seconds)
        self.burst += latencies(pushes, replies)

    def run_paced(self, users: list[int], count: int, rate: float, first: int) -> None:
        self.fake.reset_replies()
        pushes = []
        start = time.monotonic()
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pushes.append(_push(self.fake, users[(first + i) % len(users)]))
        self.paced += latencies(pushes, self.wait_replies(count, 60))

    def result(self, rate: float) -> BotRun:
        return BotRun(
            self.name,
            self.commands,
            self.seconds,
            statistics.median(self.burst) * 1e3,
            percentile(self.burst, 0.99) * 1e3,
            len(self.paced),
            rate,
            statistics.median(self.paced) * 1e3,
            percentile(self.paced, 0.99) * 1e3,
            tuple(self.block_rates),
        )


def _start(
    stack: ExitStack, name: str, command: list[str], cwd: Path, database_url: str | None,
    profile_dir: Path | None = None,
) -> _Bot:  # fmt: skip
    fake = stack.enter_context(running_fake())
    env = bot_env(fake, database_url)
    # The fake has no flood limit here and the bare bot keeps none: the send budget is set to
    # what the fake takes, so the comparison is of the work per command (booking slots from the
    # budget is still part of it).
    env["TELEGRAM_SENDS_PER_SECOND"] = "100000"
    if profile_dir is not None:
        env[PROFILE_ENV] = str(profile_dir)
    process = stack.enter_context(bot_process(command, env, cwd))
    return _Bot(name, fake, process)


def measure(bots: list[_Bot], users: list[int], sizes: BalanceSizes) -> list[BotRun]:
    """Warm every bot up, then bursts and paced runs in blocks, alternating the bots (ABBA),
    so that other work on the machine falls on all of them alike."""
    for bot in bots:
        wait_polling(bot.fake, bot.process)
        bot.warm_up(users)
    burst, paced = sizes.burst // sizes.blocks, sizes.paced // sizes.blocks
    for block in range(sizes.blocks):
        order = bots if block % 2 == 0 else bots[::-1]
        for bot in order:
            bot.run_burst(users, burst, block * burst)
        for bot in order:
            bot.run_paced(users, paced, sizes.paced_rate, block * paced)
    return [bot.result(sizes.paced_rate) for bot in bots]


def run_balance(sizes: BalanceSizes, profile_dir: Path | None = None) -> BalanceResult:
    """Seed, then measure `loyalty run` and the bare bot, each polling its own fake Bot API."""
    with tempfile.TemporaryDirectory(prefix="loyalty-tg-bench-") as tmp, ExitStack() as stack:
        db = Path(tmp) / "balance.db"
        users = balance_database(str(db), sizes.members, sizes.users)
        command = loyalty_command()
        if profile_dir is not None:
            command = [sys.executable, "-m", "benchmarks.profiled_run"]
        loyalty = _start(stack, "loyalty run", command, Path(tmp), sqlite_url(str(db)), profile_dir)
        bare_command = [sys.executable, "-m", "benchmarks.bare_bot"]
        bare = _start(stack, "bare PTB", bare_command, Path(tmp), None)
        loyalty_run, bare_run = measure([loyalty, bare], users, sizes)
    return BalanceResult(sizes.members, sizes.users, loyalty_run, bare_run)
