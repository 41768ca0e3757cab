"""Purchases per second through `POST /api/v1/purchases` of a real `loyalty run` (uvicorn,
signed requests, PostgreSQL, 8 concurrent clients) against a bare FastAPI endpoint that checks
the same signature and writes the same journal with hand-written SQL (`purchase_bare`), in the
same run: rounds alternate bare/loyalty, and the result is the median of the rounds.

`python -m benchmarks pos [--quick] [--no-save]`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.databases import Target, fresh_target
from benchmarks.docs import replace_section
from benchmarks.results import machine
from benchmarks.settings import BENCHMARKS_DOC, postgres_url
from benchmarks.slack_kudos import _free_port, _servers
from bot.api.signing import signed_headers
from bot.clock import SystemClock
from bot.settings import EXAMPLE_PROGRAM
from core.customers import ImportedCustomer
from core.loyalty import Loyalty
from core.program import load_program
from storage.database import SqlDatabase

GOAL = 0.6
SECRET = "pos-bench-5e8c1d7a92f4"
START = "<!-- pos:start (written by python -m benchmarks pos) -->"
END = "<!-- pos:end -->"


@dataclass(frozen=True)
class Sizes:
    requests: int  # per round and target
    rounds: int
    clients: int
    members: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(requests=600, rounds=7, clients=8, members=200)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(requests=16, rounds=1, clients=2, members=4)


@dataclass(frozen=True)
class Result:
    sizes: Sizes
    loyalty: list[float]  # purchases/s per round
    bare: list[float]

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.loyalty, self.bare, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.loyalty) / statistics.median(self.bare)

    def markdown(self) -> str:
        met = "met" if self.ratio >= GOAL else "**missed**"
        ratios = self.ratios
        rows = [
            "| target | purchases per round | rounds | clients | median purchases/s | range |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, rates in (("`loyalty run` (core, PostgreSQL)", self.loyalty),
                            ("bare FastAPI + hand-written SQL", self.bare)):  # fmt: skip
            rows.append(
                f"| {name} | {self.sizes.requests:,} | {self.sizes.rounds} | {self.sizes.clients}"
                f" | {statistics.median(rates):,.0f} | {min(rates):,.0f}–{max(rates):,.0f} |"
            )
        return (
            "\n".join(rows)
            + f"\n\nRatio loyalty/bare (medians): **{self.ratio:.2f}** (goal ≥ {GOAL}: {met});"
            f" per round {min(ratios):.2f}–{max(ratios):.2f}.\n\n- {_machine()}\n"
        )


def _machine() -> str:
    return machine("PostgreSQL, both servers and the clients on the same machine", "at the end")


def _seed(url: str, count: int) -> list[str]:
    """Members (imported customers) and their codes."""
    db = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(db, load_program(EXAMPLE_PROGRAM), SystemClock())
        customers = [
            ImportedCustomer(customer_id=f"B-{n}", name=f"Bench {n}") for n in range(count)
        ]
        return [r.member.code for r in loyalty.import_customers(customers)]
    finally:
        db.dispose()


class Driver:
    """Signs distinct purchases and fires them with several concurrent clients."""

    def __init__(self, codes: list[str], sizes: Sizes) -> None:
        self.codes = codes
        self.sizes = sizes
        self._receipts = itertools.count()

    def bodies(self, count: int) -> list[bytes]:
        out = []
        for _ in range(count):
            n = next(self._receipts)
            member = self.codes[n % len(self.codes)]
            out.append(
                f'{{"member": "{member}", "receipt": "B-{n}", "amount": "{4 + n % 30}.50",'
                f' "currency": "USD", "store": "main-st", "channel": "store"}}'.encode()
            )
        return out

    async def fire(self, base: str, bodies: list[bytes]) -> None:
        pending = list(reversed(bodies))

        async def client() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                while pending:
                    body = pending.pop()
                    headers = {"Content-Type": "application/json",
                               **signed_headers(SECRET, body, time.time())}  # fmt: skip
                    response = await http.post("/api/v1/purchases", content=body, headers=headers)
                    if response.status_code != 201:
                        raise RuntimeError(f"HTTP {response.status_code}: {response.text}")

        await asyncio.gather(*(client() for _ in range(self.sizes.clients)))

    def round(self, base: str) -> float:
        """Purchases per second for one round against `base`."""
        bodies = self.bodies(self.sizes.requests)
        started = time.perf_counter()
        asyncio.run(self.fire(base, bodies))
        return len(bodies) / (time.perf_counter() - started)


def run(sizes: Sizes, echo: Callable[[str], None] = print) -> Result:
    with fresh_target("postgresql", postgres_url()) as target, tempfile.TemporaryDirectory() as tmp:
        codes = _seed(target.url, sizes.members)
        loyalty_env, bare_env = _environments(target)
        loyalty_cmd = [str(Path(sys.executable).with_name("loyalty")), "run"]
        bare_cmd = [sys.executable, "-m", "benchmarks.purchase_bare"]
        driver = Driver(codes, sizes)
        rates: dict[str, list[float]] = {"loyalty": [], "bare": []}
        with _servers((loyalty_cmd, loyalty_env), (bare_cmd, bare_env), cwd=Path(tmp)) as bases:
            targets = dict(zip(("loyalty", "bare"), bases, strict=True))
            for base in bases:  # warm-up: connections, caches, prepared statements
                asyncio.run(driver.fire(base, driver.bodies(max(40, sizes.clients * 4))))
            for n in range(sizes.rounds):
                # ABBA: whichever goes second in a round goes first in the next.
                order = ("bare", "loyalty") if n % 2 == 0 else ("loyalty", "bare")
                for name in order:
                    rates[name].append(driver.round(targets[name]))
                echo(f"round {n + 1}: loyalty {rates['loyalty'][-1]:,.0f}/s,"
                     f" bare {rates['bare'][-1]:,.0f}/s")  # fmt: skip
    return Result(sizes, rates["loyalty"], rates["bare"])


def _environments(target: Target) -> tuple[dict[str, str], dict[str, str]]:
    common = {**os.environ, "POS_WEBHOOK_SECRET": SECRET, "HTTP_HOST": "127.0.0.1"}
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        common.pop(name, None)
    loyalty_env = {**common, "HTTP_PORT": str(_free_port()), "DATABASE_URL": target.url}
    root = Path(__file__).resolve().parents[1]
    bare_env = {
        **common,
        "HTTP_PORT": str(_free_port()),
        "BENCH_LIBPQ": target.libpq or "",
        "BENCH_SCHEMA": target.schema or "",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    return loyalty_env, bare_env


def run_and_report(quick: bool, save: bool, echo: Callable[[str], None] = print) -> Result:
    """Run, print the table, and (full runs only) replace the table in docs/BENCHMARKS.md."""
    result = run(Sizes.quick() if quick else Sizes.full(), echo)
    echo(result.markdown())
    if save and not quick:
        replace_section(BENCHMARKS_DOC, START, END, result.markdown())
    return result
