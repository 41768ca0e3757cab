"""Soak: 1, 2 and 3 `loyalty run` workers on one PostgreSQL at a steady mixed load.

`python -m benchmarks soak [--seconds S] [--rounds R] [--rate N] [--quick] [--no-save]`.

The load is open-loop (N deliveries started per second, whatever the answers): Telegram
webhook commands (`/balance` from members, `/earn` from staff), signed purchase API calls,
Slack kudos in messages, and a broadcast queued at the start of each measured window (rows
in the outbox for every member; issue 10's `/broadcast` had not landed when this was
written, so the rows are queued the way it queues them). The fakes of tests/fakes answer the
platforms, Telegram's enforcing 30 sends/s.

Per configuration it reports the handled deliveries per second, the reply latency (from the
webhook POST to the platform receiving the reply, or the API's answer) at p50 and p99, the
worker CPU seconds per handled delivery (each worker's own utime + stime from /proc), each
worker's resident memory at the end of the window against its start, and where the CPU of
the whole machine went in the window (workers, PostgreSQL backends, this process with the
fakes and the load generator) to name what limits throughput.

Rounds alternate the order of configurations (1, 2, 3 then 3, 2, 1); each figure is the
median over rounds with its range. The baseline of the CPU ratio is the 1-worker
configuration of the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from benchmarks.databases import fresh_target
from benchmarks.docs import replace_section
from benchmarks.settings import BENCHMARKS_DOC, postgres_url
from bot.clock import SystemClock
from core.loyalty import Loyalty
from core.program import load_program
from storage.database import SqlDatabase
from tests.adapters.slack_support import SECRET as SLACK_SECRET
from tests.adapters.slack_support import TOKEN as SLACK_TOKEN
from tests.adapters.slack_support import program_file
from tests.api_support import SECRET as POS_SECRET
from tests.fakes import slack_signing
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, make_command_update
from tests.faults.balancer import Balancer, Delivery, Kind
from tests.faults.cluster import Cluster, Platforms
from tests.faults.workload import MEMBER_IDS, STAFF_IDS, Workload, admins, customers

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- soak:start (written by python -m benchmarks soak) -->"
END = "<!-- soak:end -->"
CPU_GOAL = 1.2  # worker CPU per delivery, 3 workers against 1
MEMORY_GOAL = 0.10  # growth of a worker's resident memory over the window
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
COLLEAGUES = [f"US{n:03d}" for n in range(60)]
BALANCE_ASKERS = MEMBER_IDS[20:]  # they get no notifications: their next message is the reply
EARNERS = MEMBER_IDS[:20]
BROADCAST_EACH = 3
TOKEN = re.compile(r"\bT-\d+\b|\bgift\d+\b")  # what a reply names: a receipt, a gift
BROADCAST = re.compile(r"\bB-\d+\b")  # what the broadcast's messages name
# Slack posts at most one message a second in a channel: kudos go on in several.
CHANNELS = 10
MIX = {"balance": 30, "earn": 25, "purchase": 25, "gift": 20}


@dataclass(frozen=True, kw_only=True)
class Sizes:
    """How long and how hard."""

    seconds: float  # measured window per configuration and round
    rounds: int
    rate: float  # deliveries started per second
    warm_seconds: float = 10.0

    @classmethod
    def full(cls) -> Sizes:
        return cls(seconds=60.0, rounds=2, rate=20.0)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(seconds=8.0, rounds=1, rate=10.0, warm_seconds=3.0)


@dataclass(kw_only=True)
class Window:
    """One configuration measured once."""

    workers: int
    seconds: float
    handled: int
    latencies_ms: dict[str, list[float]]  # by kind
    worker_cpu: float  # seconds, all workers
    postgres_cpu: float  # seconds, their backends
    own_cpu: float  # seconds, this process: fakes and load generator
    machine_cpu: float  # seconds, every process (from /proc/stat)
    memory: list[tuple[int, int]]  # (start, end) resident bytes per worker
    refused: int = 0  # sends the fake Bot API answered with 429 (over 30/s) in the window

    @property
    def throughput(self) -> float:
        return self.handled / self.seconds

    @property
    def cpu_per_delivery_ms(self) -> float:
        return 1000 * self.worker_cpu / max(1, self.handled)

    @property
    def worst_growth(self) -> float:
        return max((end - start) / start for start, end in self.memory)

    def percentile(self, q: float, kind: str | None = None) -> float:
        if kind is None:
            ordered = sorted(ms for values in self.latencies_ms.values() for ms in values)
        else:
            ordered = sorted(self.latencies_ms.get(kind, []))
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


@dataclass(kw_only=True)
class Result:
    sizes: Sizes
    windows: list[Window] = field(default_factory=list)

    def of(self, workers: int) -> list[Window]:
        return [w for w in self.windows if w.workers == workers]

    def cpu_ratios(self) -> list[float]:
        """Per round: CPU per delivery with 3 workers over 1 worker."""
        ones, threes = self.of(1), self.of(3)
        return [
            t.cpu_per_delivery_ms / o.cpu_per_delivery_ms for o, t in zip(ones, threes, strict=True)
        ]

    def markdown(self) -> str:
        rows = [
            "| workers | handled/s | p50 reply ms | p99 reply ms | worker CPU ms per delivery"
            " | worst memory growth | CPU share: workers / PostgreSQL / fakes+load"
            " | Telegram 429s |",
            "|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for n in (1, 2, 3):
            windows = self.of(n)
            if not windows:
                continue
            rows.append(
                f"| {n} | {_spread([w.throughput for w in windows], '.1f')}"
                f" | {_spread([w.percentile(0.5) for w in windows], '.0f')}"
                f" | {_spread([w.percentile(0.99) for w in windows], '.0f')}"
                f" | {_spread([w.cpu_per_delivery_ms for w in windows], '.1f')}"
                f" | {_spread([100 * w.worst_growth for w in windows], '+.1f')} %"
                f" | {_shares(windows)} | {_spread([float(w.refused) for w in windows], '.0f')} |"
            )
        ratios = self.cpu_ratios()
        ratio = statistics.median(ratios) if ratios else float("nan")
        growth = max((w.worst_growth for w in self.windows), default=0.0)
        cpu_met = "met" if ratio <= CPU_GOAL else "**missed**"
        memory_met = "met" if growth <= MEMORY_GOAL else "**missed**"
        s = self.sizes
        return (
            "\n".join(rows) + f"\n\nWorker CPU per delivery, 3 workers / 1 worker: **{ratio:.2f}**"
            f" (per round {_range(ratios)}; goal ≤ {CPU_GOAL}: {cpu_met})."
            f" Worst memory growth of a worker over a window: {100 * growth:+.1f} %"
            f" (goal ≤ {100 * MEMORY_GOAL:.0f} %: {memory_met}).\n\n"
            f"- {s.rounds} round(s) of {s.seconds:.0f} s per configuration at {s.rate:g}"
            f" deliveries/s (after {s.warm_seconds:.0f} s of warm-up); medians, range in"
            f" brackets.\n- {_machine()}\n"
        )


def _spread(values: list[float], spec: str) -> str:
    median = format(statistics.median(values), spec)
    if len(values) < 2:
        return median
    return f"{median} ({format(min(values), spec)}–{format(max(values), spec)})"


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}" if values else "n/a"


def _shares(windows: list[Window]) -> str:
    parts = []
    for name in ("worker_cpu", "postgres_cpu", "own_cpu"):
        shares = [getattr(w, name) / w.machine_cpu for w in windows if w.machine_cpu]
        parts.append(f"{100 * statistics.median(shares):.0f} %" if shares else "n/a")
    return " / ".join(parts)


def _machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs shared with PostgreSQL, the fakes and"
        f" the load generator; load average {load} at the end; Python"
        f" {platform.python_version()}"
    )


# -- /proc ----------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def resident(pid: int) -> int:
    """Resident memory of a process in bytes."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def machine_cpu() -> float:
    """CPU seconds every process has used (all CPUs, idle and I/O wait excluded)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICKS


def backends(libpq: str, tag: str) -> list[int]:
    """PostgreSQL backend pids of the workers (by application name)."""
    with psycopg.connect(libpq, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s", (f"{tag}-w%",)
        ).fetchall()
    return [int(r[0]) for r in rows]


# -- the load -------------------------------------------------------------------------


class SoakLoad:
    """Draws the mix and remembers when each delivery was sent, to find its reply."""

    def __init__(self, workload: Workload, team_id: str) -> None:
        self._workload = workload
        self._team_id = team_id
        self._n = 0
        self._update_id = 5_000_000
        self.sent_at: dict[str, float] = {}
        self.tokens: dict[str, str] = {}  # delivery key -> what its reply contains
        self.chats: dict[str, int] = {}  # delivery key -> the chat its reply goes to
        self.kinds: dict[str, str] = {}  # delivery key -> its kind in MIX

    def next(self) -> Delivery:
        self._n += 1
        n = self._n
        kind = _kind(n)
        if kind == "balance":
            user = BALANCE_ASKERS[n % len(BALANCE_ASKERS)]
            delivery = self._telegram(user, "/balance")
            self.chats[delivery.key] = user
        elif kind == "earn":
            receipt = f"T-{n}"
            member = self._workload.member_codes[EARNERS[n % len(EARNERS)]]
            staff = STAFF_IDS[n % len(STAFF_IDS)]
            delivery = self._telegram(staff, f"/earn {member} 7.50 {receipt}")
            self.tokens[delivery.key] = receipt
            self.chats[delivery.key] = staff
        elif kind == "gift":
            giver, receiver = COLLEAGUES[n % 60], COLLEAGUES[(n * 7 + 1) % 60]
            if giver == receiver:
                receiver = COLLEAGUES[(n + 1) % 60]
            token = f"gift{n}"
            event = slack_signing.message_event(
                f"CSOAK{n % CHANNELS}",
                giver,
                f"+1 <@{receiver}> thanks {token} #teamwork",
                team=self._team_id,
            )
            body = slack_signing.event_body(event, f"EvS{n}", team_id=self._team_id)
            delivery = Delivery(kind=Kind.SLACK_EVENT, key=f"EvS{n}", body=body)
            self.tokens[delivery.key] = token
        else:
            purchase = {"member": f"customer:C-{n % len(MEMBER_IDS)}", "receipt": f"P-{n}",
                        "amount": "9.90", "currency": "USD", "store": "main-st"}  # fmt: skip
            raw = json.dumps(purchase).encode()
            delivery = Delivery(kind=Kind.PURCHASE, key=f"P-{n}", body=raw)
        self.sent_at[delivery.key] = time.monotonic()
        self.kinds[delivery.key] = kind
        return delivery

    def _telegram(self, user: int, text: str) -> Delivery:
        self._update_id += 1
        update = make_command_update(self._update_id, user, text, first_name=f"U{user}")
        return Delivery(kind=Kind.TELEGRAM, key=f"tg:{self._update_id}",
                        body=json.dumps(update).encode())  # fmt: skip


def _kind(n: int) -> str:
    """The kind of the n-th delivery: the mix spread evenly over every 100."""
    slot, total = n % 100, 0
    for kind, weight in MIX.items():
        total += weight
        if slot < total:
            return kind
    return "purchase"


def latencies(
    load: SoakLoad,
    deliveries: list[Delivery],
    telegram: FakeTelegramApi,
    slack: FakeSlackApi,
) -> dict[str, list[float]]:
    """Milliseconds from sending each delivery to its reply reaching the platform (the
    API's own answer for purchases)."""
    replies_by_chat: dict[int, list[float]] = {}
    by_token: dict[tuple[str, str], float] = {}  # (chat, token) -> first message
    for call in telegram.calls:
        if call.method.lower() == "sendmessage" and call.ok:
            chat = int(call.chat_id)
            if not BROADCAST.search(call.text or ""):
                replies_by_chat.setdefault(chat, []).append(call.at)
            for token in TOKEN.findall(call.text or ""):
                by_token.setdefault((str(chat), token), call.at)
    for post in slack.calls_to("chat.postMessage"):
        for token in TOKEN.findall(str(post.params.get("text", ""))):
            by_token.setdefault(("slack", token), post.at)
    out: dict[str, list[float]] = {}
    for delivery in deliveries:
        sent = load.sent_at.get(delivery.key)
        if sent is None or not delivery.acked:
            continue
        at: float | None = None
        if delivery.kind is Kind.PURCHASE:
            at = delivery.acked_at
        elif delivery.key in load.tokens:  # the staff's chat, or any Slack channel
            where = str(load.chats.get(delivery.key, "slack"))
            at = by_token.get((where, load.tokens[delivery.key]))
        elif delivery.key in load.chats:
            after = [t for t in replies_by_chat.get(load.chats[delivery.key], []) if t >= sent]
            at = min(after, default=None)
        if at is not None:
            out.setdefault(load.kinds[delivery.key], []).append(1000 * (at - sent))
    return out


def _broadcast(url: str) -> None:
    """Queue a message for every member at once, as a broadcast does."""
    now = datetime.now(UTC)
    db = SqlDatabase.from_url(url)
    try:
        with db.engine.begin() as conn:
            members = [r[0] for r in conn.exec_driver_sql(
                "SELECT member_id FROM identity WHERE platform = 'telegram'").all()]  # fmt: skip
            stamp = time.monotonic_ns()
            rows = [
                {"member": m, "dedupe": f"soak-{stamp}-{m}-{k}", "now": now,
                 "params": json.dumps({"points": 1, "reason": f"B-{k}"})}
                for m in members for k in range(BROADCAST_EACH)
            ]  # fmt: skip
            conn.exec_driver_sql(
                "INSERT INTO outbox (member_id, message_key, params, category, dedupe_key,"
                " status, attempts, not_before, created_at) VALUES (%(member)s,"
                " 'notify.points_awarded', %(params)s, 'transactional', %(dedupe)s, 'queued',"
                " 0, %(now)s, %(now)s)",
                rows,
            )
    finally:
        db.dispose()


@contextmanager
def _configuration(
    workers: int, tmp: Path, profile: Path | None = None
) -> Iterator[tuple[Cluster, FakeTelegramApi, FakeSlackApi, str, str, Workload]]:
    with (
        fresh_target("postgresql", postgres_url()) as target,
        FakeTelegramApi.run_in_thread() as telegram,
        FakeSlackApi.run_in_thread() as slack,
    ):
        program = program_file(tmp)
        db = SqlDatabase.from_url(target.url)
        try:
            Loyalty(db, load_program(program), SystemClock()).import_customers(customers())
        finally:
            db.dispose()
        for user in COLLEAGUES:
            slack.add_user(user, user.lower())
        # Telegram's 30 messages a second overall; its one a second per chat is a guideline
        # it enforces loosely, and a strict one would drop replies here (the fault suite
        # enforces it strictly).
        telegram.enforce_rate(30, per_chat_per_sec=1000)
        tag = f"soak{os.getpid()}"
        cluster = Cluster(
            size=workers, database_url=target.url, program=program,
            platforms=Platforms(telegram_base_url=telegram.base_url, slack_api_url=slack.api_url),
            pos_secret=POS_SECRET, slack_token=SLACK_TOKEN, slack_secret=SLACK_SECRET,
            admins=admins(), cwd=tmp, tag=tag,
            command=None if profile is None else [sys.executable, "-m", "benchmarks.profiled_run"],
            extra_env=None if profile is None else {
                "LOYALTY_BENCH_PROFILE": str(profile), "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        workload = Workload(
            slack_secret=SLACK_SECRET, slack_token=SLACK_TOKEN, team_id=slack.team_id,
            response_url=slack.response_url("soak"),
        )  # fmt: skip
        with cluster.running():
            yield cluster, telegram, slack, target.libpq or "", tag, workload


def measure(
    workers: int, sizes: Sizes, echo: Callable[[str], None], profile: Path | None = None
) -> Window:
    """One configuration: start it, warm it up, measure one window (with `profile`, under
    cProfile, written to that directory)."""
    with tempfile.TemporaryDirectory() as tmp, _configuration(workers, Path(tmp), profile) as (
        cluster, telegram, slack, libpq, tag, workload,
    ):  # fmt: skip
        window = asyncio.run(_window(cluster, telegram, slack, libpq, tag, workload, sizes))
    echo(
        f"{workers} worker(s): {window.throughput:.1f}/s, p50 {window.percentile(0.5):.0f} ms,"
        f" p99 {window.percentile(0.99):.0f} ms, {window.cpu_per_delivery_ms:.1f} ms CPU"
        f" per delivery, memory {100 * window.worst_growth:+.1f} %; p50/p99 by kind: "
        + ", ".join(
            f"{kind} {window.percentile(0.5, kind):.0f}/{window.percentile(0.99, kind):.0f}"
            for kind in MIX
        )
    )
    return window


async def _window(
    cluster: Cluster,
    telegram: FakeTelegramApi,
    slack: FakeSlackApi,
    libpq: str,
    tag: str,
    workload: Workload,
    sizes: Sizes,
) -> Window:
    balancer = Balancer(cluster.alive, slack_secret=SLACK_SECRET, pos_secret=POS_SECRET)
    try:
        await _join(balancer, workload, cluster, libpq)
        load = SoakLoad(workload, slack.team_id)
        await _run(balancer, load, sizes.warm_seconds, sizes.rate)
        balancer.deliveries.clear()
        pids = [w.pid for w in cluster.workers if w.pid is not None]
        pg_before = {pid: process_cpu(pid) for pid in backends(libpq, tag)}
        cpu_before = {pid: process_cpu(pid) for pid in pids}
        own_before, machine_before = process_cpu(os.getpid()), machine_cpu()
        memory_before = {pid: resident(pid) for pid in pids}
        started, refused = time.monotonic(), telegram.too_many_requests
        await asyncio.to_thread(_broadcast_for, cluster)
        await _run(balancer, load, sizes.seconds, sizes.rate)
        elapsed = time.monotonic() - started
        worker_cpu = sum(process_cpu(pid) - cpu_before[pid] for pid in pids)
        pg_after = {pid: process_cpu(pid) for pid in backends(libpq, tag)}
        postgres = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
        own, machine = process_cpu(os.getpid()) - own_before, machine_cpu() - machine_before
        memory = [(memory_before[pid], resident(pid)) for pid in pids]
        deliveries = list(balancer.deliveries)
        return Window(
            workers=len(pids), seconds=elapsed, handled=sum(d.acked for d in deliveries),
            latencies_ms=latencies(load, deliveries, telegram, slack), worker_cpu=worker_cpu,
            postgres_cpu=postgres, own_cpu=own, machine_cpu=machine, memory=memory,
            refused=telegram.too_many_requests - refused,
        )  # fmt: skip
    finally:
        await balancer.close()


def _broadcast_for(cluster: Cluster) -> None:
    _broadcast(cluster.workers[0].database_url)


async def _join(balancer: Balancer, workload: Workload, cluster: Cluster, libpq: str) -> None:
    """Everyone joins (waiting until the database shows it); then codes and ids are known."""
    give_up = time.monotonic() + 60
    await asyncio.gather(*(balancer.deliver(d, give_up) for d in workload.warm_up()))
    db = SqlDatabase.from_url(cluster.workers[0].database_url)
    try:
        while True:
            with db.engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT i.external_id, m.id, m.code FROM identity i"
                    " JOIN member m ON m.id = i.member_id WHERE i.platform = 'telegram'"
                ).all()
            joined = {int(external): (int(i), str(code)) for external, i, code in rows}
            if set(MEMBER_IDS + STAFF_IDS) <= joined.keys():
                break
            if time.monotonic() > give_up:
                raise RuntimeError("members never joined")
            await asyncio.sleep(0.2)
    finally:
        db.dispose()
    for external, (member_id, code) in joined.items():
        workload.member_ids[external], workload.member_codes[external] = member_id, code


async def _run(balancer: Balancer, load: SoakLoad, seconds: float, rate: float) -> None:
    """Start `rate` deliveries a second for `seconds`, then wait for their answers."""
    tasks = []
    started = time.monotonic()
    give_up = started + seconds + 60
    n = 0
    while (elapsed := time.monotonic() - started) < seconds:
        tasks.append(asyncio.create_task(balancer.deliver(load.next(), give_up)))
        n += 1
        await asyncio.sleep(max(0.0, n / rate - elapsed))
    await asyncio.gather(*tasks)


def run(sizes: Sizes, echo: Callable[[str], None] = print) -> Result:
    result = Result(sizes=sizes)
    for round_ in range(sizes.rounds):
        order = (1, 2, 3) if round_ % 2 == 0 else (3, 2, 1)
        for workers in order:
            result.windows.append(measure(workers, sizes, echo))
    return result


def run_and_report(
    sizes: Sizes,
    quick: bool,
    save: bool,
    echo: Callable[[str], None] = print,
    profile: Path | None = None,
) -> Result | None:
    """Run, print the table and (unless quick) put it in docs/BENCHMARKS.md; with `profile`,
    one worker under cProfile instead, and the heaviest functions printed (no table)."""
    if profile is not None:
        from benchmarks.telegram_suite import profile_summary

        measure(1, sizes, echo, profile)
        echo(profile_summary(profile))
        return None
    result = run(sizes, echo)
    echo(result.markdown())
    if save and not quick:
        replace_section(BENCHMARKS_DOC, START, END, result.markdown())
    return result
