"""Signed `/kudos` slash commands per second through `loyalty run` (Slack HTTP mode) against a
bare bolt AsyncApp acking the same command with fixed text, both as subprocesses on the fake
Slack Web API, in the same run.

`python -m benchmarks slack [--quick] [--no-save]`. A command counts as done when its HTTP ack is
back and, for `loyalty run`, its two answers (the public announcement and the private
"left to give" line) reached the response URL: the gift itself is in the database by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.docs import replace_section
from benchmarks.results import machine
from benchmarks.settings import BENCHMARKS_DOC
from bot.settings import EXAMPLE_PROGRAM
from tests.fakes import slack_signing
from tests.fakes.slack_api import FakeSlackApi

GOAL = 0.6
TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
START = "<!-- slack:start (written by python -m benchmarks slack) -->"
END = "<!-- slack:end -->"
REPRODUCE = ".venv/bin/python -m benchmarks slack"
# Limits no benchmark run reaches, so every command is a real gift, not a refusal.
RECOGNITION = """
[recognition]
monthly_allowance = 10000000
max_per_gift = 10
daily_pair_cap = 10000000
values = ["teamwork"]
"""


@dataclass(frozen=True)
class Sizes:
    commands: int  # per round and target
    rounds: int  # alternating bare/loyalty rounds
    clients: int  # concurrent httpx.AsyncClients
    people: int  # Slack users giving to each other
    warmup: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(commands=600, rounds=3, clients=8, people=100, warmup=100)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(commands=12, rounds=1, clients=2, people=4, warmup=4)


@dataclass(frozen=True)
class Result:
    commands: int
    clients: int
    loyalty: float  # commands/s
    bare: float  # commands/s
    loyalty_p50_ms: float
    bare_p50_ms: float
    # loyalty/bare of each alternating round (each side's rate in that round).
    round_ratios: tuple[float, ...] = ()

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios (all commands over all time without rounds)."""
        if not self.round_ratios:
            return self.loyalty / self.bare
        ordered = sorted(self.round_ratios)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2

    def markdown(self) -> str:
        met = "met" if self.ratio >= GOAL else "**missed**"
        return (
            "| target | commands | clients | commands/s | median ack ms |\n"
            "|---|---:|---:|---:|---:|\n"
            f"| `loyalty run` (gift, SQLite) | {self.commands:,} | {self.clients} "
            f"| {self.loyalty:,.0f} | {self.loyalty_p50_ms:.1f} |\n"
            f"| bare bolt AsyncApp (fixed ack) | {self.commands:,} | {self.clients} "
            f"| {self.bare:,.0f} | {self.bare_p50_ms:.1f} |\n\n"
            f"Ratio loyalty/bare, median of {len(self.round_ratios)} alternating rounds:"
            f" **{self.ratio:.2f}** ({self._range()}; goal ≥ {GOAL}: {met}).\n\n"
            f"- {_machine()}\n"
        )

    def _range(self) -> str:
        if not self.round_ratios:
            return "one round"
        return f"rounds {min(self.round_ratios):.2f}–{max(self.round_ratios):.2f}"


def _machine() -> str:
    return machine("fake Slack Web API on 127.0.0.1 in the driver", "at the end")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _program(directory: Path) -> Path:
    example, _, _ = EXAMPLE_PROGRAM.read_text(encoding="utf-8").partition("\n[recognition]\n")
    path = directory / "bench-program.toml"
    path.write_text(example + RECOGNITION, encoding="utf-8")
    return path


@contextlib.contextmanager
def _servers(*servers: tuple[list[str], dict[str, str]], cwd: Path) -> Iterator[list[str]]:
    """Start server subprocesses together, wait for each one's GET /healthz, yield their base
    URLs; SIGTERM them all at the end."""
    processes = [
        subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE)
        for command, env in servers
    ]
    try:
        bases = []
        for process, (command, env) in zip(processes, servers, strict=True):
            base = f"http://127.0.0.1:{env['HTTP_PORT']}"
            _wait_healthy(process, command, base)
            bases.append(base)
        yield bases
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _wait_healthy(process: subprocess.Popen[bytes], command: list[str], base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"{command} exited with {process.returncode}: {stderr}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{command} never became healthy")
        time.sleep(0.1)


class Driver:
    """Builds signed commands and fires them with several concurrent clients."""

    def __init__(self, fake: FakeSlackApi, sizes: Sizes) -> None:
        self.fake = fake
        self.sizes = sizes
        self.users = [f"UB{n:05d}" for n in range(sizes.people)]
        self._serial = 0

    def bodies(self, count: int, tag: str) -> tuple[list[bytes], str]:
        """`count` distinct /kudos commands (giver → the next person), answered at one URL."""
        reply_id = f"{tag}-{self._serial}"
        self._serial += 1
        bodies = []
        for n in range(count):
            giver = self.users[n % len(self.users)]
            receiver = self.users[(n + 1) % len(self.users)]
            bodies.append(
                slack_signing.slash_command_body(
                    "/kudos",
                    f"<@{receiver}> 1 thanks #teamwork",
                    user_id=giver,
                    response_url=self.fake.response_url(reply_id),
                )
            )
        return bodies, reply_id

    async def fire(self, base: str, bodies: list[bytes]) -> list[float]:
        """POST every body, `clients` at a time; the ack latencies in seconds."""
        queue = list(reversed(bodies))
        latencies: list[float] = []

        async def client() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                while queue:
                    body = queue.pop()
                    headers = slack_signing.headers(SECRET, body)
                    started = time.perf_counter()
                    response = await http.post("/slack/events", content=body, headers=headers)
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise RuntimeError(f"HTTP {response.status_code}: {response.text}")

        await asyncio.gather(*(client() for _ in range(self.sizes.clients)))
        return latencies

    def round(self, base: str, tag: str, answers_each: int) -> tuple[float, list[float]]:
        """One timed round: seconds until every command is acked and answered."""
        bodies, reply_id = self.bodies(self.sizes.commands, tag)
        started = time.perf_counter()
        latencies = asyncio.run(self.fire(base, bodies))
        if answers_each:
            expected = answers_each * len(bodies)
            self.fake.wait_for_sync(lambda: len(self.fake.responses_to(reply_id)) >= expected,
                                    timeout=120)  # fmt: skip
        return time.perf_counter() - started, latencies

    def warm_up(self, base: str, answers_each: int) -> None:
        """People looked up and enrolled, bolt's auth.test cached, connections warm."""
        bodies, reply_id = self.bodies(max(self.sizes.warmup, len(self.users)), "warm")
        asyncio.run(self.fire(base, bodies))
        if answers_each:
            expected = answers_each * len(bodies)
            self.fake.wait_for_sync(lambda: len(self.fake.responses_to(reply_id)) >= expected,
                                    timeout=120)  # fmt: skip


def run(sizes: Sizes, echo: Callable[[str], None] = print, profile: Path | None = None) -> Result:
    """Both targets in alternating rounds; rates are all commands over the summed times, the
    ratio the median of the rounds' ratios. With `profile`, `loyalty run` runs under
    `benchmarks.profiled_run`, which writes its profiles there."""
    with (
        tempfile.TemporaryDirectory(prefix="slack-bench-") as tmp,
        FakeSlackApi.run_in_thread() as fake,
    ):
        directory = Path(tmp)
        driver = Driver(fake, sizes)
        for user in driver.users:
            fake.add_user(user, user.lower())
        common = {
            **os.environ,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "LOYALTY_ENV": "development",  # benchmark secrets
            "SLACK_API_URL": fake.api_url,
            "HTTP_HOST": "127.0.0.1",
        }
        for name in ("TELEGRAM_BOT_TOKEN", "SLACK_APP_TOKEN", "POS_WEBHOOK_SECRET"):
            common.pop(name, None)
        loyalty_env = {
            **common,
            "HTTP_PORT": str(_free_port()),
            "DATABASE_URL": f"sqlite:///{directory / 'bench.db'}",
            "LOYALTY_PROGRAM": str(_program(directory)),
        }
        bare_env = {**common, "HTTP_PORT": str(_free_port())}
        loyalty_cmd = [str(Path(sys.executable).with_name("loyalty")), "run"]
        if profile is not None:
            loyalty_cmd = [sys.executable, "-m", "benchmarks.profiled_run"]
            loyalty_env["LOYALTY_BENCH_PROFILE"] = str(profile.resolve())
        bare_cmd = [sys.executable, "-m", "benchmarks.slack_bare"]
        root = Path(__file__).resolve().parents[1]
        bare_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(root), os.environ.get("PYTHONPATH")])
        )
        times = {"loyalty": 0.0, "bare": 0.0}
        ratios: list[float] = []
        acks: dict[str, list[float]] = {"loyalty": [], "bare": []}
        servers = ((loyalty_cmd, loyalty_env), (bare_cmd, bare_env))
        with _servers(*servers, cwd=directory) as (loyalty, bare):
            driver.warm_up(bare, 0)
            driver.warm_up(loyalty, 2)
            for n in range(sizes.rounds):
                # Alternating which side goes first, so neither always gets the warmer machine.
                order = (("bare", bare, 0), ("loyalty", loyalty, 2))
                rates: dict[str, float] = {}
                for name, base, answers in order if n % 2 == 0 else order[::-1]:
                    seconds, latencies = driver.round(base, name, answers)
                    times[name] += seconds
                    acks[name] += latencies
                    rates[name] = sizes.commands / seconds
                    echo(f"round {n + 1} {name}: {rates[name]:,.0f} commands/s")
                ratios.append(rates["loyalty"] / rates["bare"])
    total = sizes.commands * sizes.rounds
    return Result(
        total,
        sizes.clients,
        total / times["loyalty"],
        total / times["bare"],
        _median_ms(acks["loyalty"]),
        _median_ms(acks["bare"]),
        tuple(ratios),
    )


def _median_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return 1000 * ordered[len(ordered) // 2] if ordered else 0.0


def update_doc(doc: Path, result: Result) -> bool:
    """Replace the table between the Slack markers of the doc; False when it has none."""
    return replace_section(doc, START, END, result.markdown())


def run_and_report(
    quick: bool, save: bool, echo: Callable[[str], None] = print, profile: Path | None = None
) -> Result:
    """Run, print the table, and (full, unprofiled runs only) replace the Slack table in the
    docs."""
    result = run(Sizes.quick() if quick else Sizes.full(), echo, profile)
    echo(result.markdown())
    if save and not quick and profile is None:  # smoke or profiled numbers never replace them
        update_doc(BENCHMARKS_DOC, result)
    return result
