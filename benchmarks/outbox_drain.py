"""`python -m benchmarks outbox`: the outbox drained by 1, 2 and 3 `loyalty run` workers on
one PostgreSQL through one bot token.

1. Against the fake Bot API enforcing Telegram's limits (30/s overall, 1/s per chat, 429 with
   retry_after above them): the rate of each worker count, goal ≥ 95% of 30/s with zero 429s,
   every message sent once.
2. Against the fake allowing 1,000/s (Telegram's paid broadcast limit), with
   `TELEGRAM_SENDS_PER_SECOND=1000`: messages/s with 1 and 3 workers beside a bare loop that
   sends the same messages through the same client (`TelegramSender` on PTB's `Bot`, no
   database, no pacing; the fake limits it to nothing, since unpaced on a quiet machine it went
   past 1,000/s and met a 429), alternating the three in rounds; goal ≥ 0.5 of the bare loop.

The messages are seeded once per schema and released at once when every worker serves (see
benchmarks/outbox_workers.py); a fresh fake counts each run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Bot

from benchmarks.docs import replace_section
from benchmarks.outbox_workers import DrainResult, drain, seed_outbox
from benchmarks.results import machine
from benchmarks.settings import BENCHMARKS_DOC, PROGRAM_FILE, RESULTS_DIR
from benchmarks.telegram_support import TOKEN, RecordingFake, running_fake
from bot.i18n import shipped_catalogs
from bot.outbox.senders import Destination
from bot.render import Renderer
from bot.replies import Button, Line, Reply
from bot.telegram.sender import TelegramSender
from core.program import load_program
from tests.storage.fixtures import postgres_schema, require_postgres

START = "<!-- outbox-drain:start (written by python -m benchmarks outbox) -->"
END = "<!-- outbox-drain:end -->"
TELEGRAM_LIMIT = 30
FAST_LIMIT = 1_000


@dataclass(frozen=True, kw_only=True)
class Sizes:
    limited: int  # messages drained against the 30/s fake, per worker count
    fast: int  # messages per run against the 1,000/s fake
    rounds: int  # alternating rounds of bare, 1 worker, 3 workers

    @classmethod
    def full(cls) -> Sizes:
        return cls(limited=900, fast=1_500, rounds=5)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(limited=90, fast=150, rounds=1)


@dataclass
class Report:
    limited: list[DrainResult] = field(default_factory=list)
    fast: dict[str, list[float]] = field(default_factory=dict)
    fast_429: int = 0
    fast_duplicates: int = 0
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [
            "Against the fake enforcing 30/s overall and 1/s per chat (goal: each ≥ 95% of"
            " 30/s, zero 429s):",
            "",
            "| workers | messages | msgs/s | of 30/s | peak in 1 s | 429s | sent twice |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.limited:
            share = r.per_second / TELEGRAM_LIMIT
            lines.append(
                f"| {r.workers} | {r.messages:,} | {r.per_second:.1f} | {share:.0%} |"
                f" {r.peak_per_second} | {r.too_many_requests} | {r.duplicates} |"
            )
        lines += [
            "",
            "Against the fake allowing 1,000/s (`TELEGRAM_SENDS_PER_SECOND=1000`), median of"
            f" {len(next(iter(self.fast.values()), []))} alternating rounds (range), goal ≥ 0.5"
            " of the bare loop:",
            "",
            "| sender | msgs/s | ratio to the bare loop of the same round, median (range) |",
            "|---|---:|---:|",
        ]
        bare = self.fast.get("bare", [])
        for name, rates in self.fast.items():
            median = statistics.median(rates)
            spread = f"{min(rates):,.0f}–{max(rates):,.0f}"
            ratio = "—"
            if name != "bare" and len(bare) == len(rates):
                ratios = [ours / theirs for ours, theirs in zip(rates, bare, strict=True)]
                ratio = f"**{statistics.median(ratios):.2f}** ({min(ratios):.2f}–{max(ratios):.2f})"
            lines.append(f"| {_LABELS[name]} | {median:,.0f} ({spread}) | {ratio} |")
        lines += [
            "",
            f"429s in the fast runs: {self.fast_429}; sent twice: {self.fast_duplicates}.",
        ]
        lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines) + "\n"


_LABELS = {
    "bare": "bare loop (same client, no database)",
    "1": "1 worker",
    "3": "3 workers",
}


async def _bare_loop(fake: RecordingFake, chats: list[int]) -> None:
    renderer = Renderer(shipped_catalogs(), load_program(PROGRAM_FILE).zone)
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        sender = TelegramSender(bot, renderer)
        for n, chat in enumerate(chats):
            reply = Reply(
                [Line("notify.points_earned", {"points": 10 + n % 90, "receipt": f"R-{n}"})],
                buttons=[[Button(Line("button.balance"), command="/balance")]],
            )
            await sender.send(Destination(chat=str(chat), person=True), reply, "en")


def _rate(fake: RecordingFake) -> float:
    times = sorted(at for at, _ in fake.replies)
    return (len(times) - 1) / (times[-1] - times[0])


def run(sizes: Sizes, echo: Callable[[str], None] = print) -> Report:
    report = Report(notes=[_machine()])
    with postgres_schema(require_postgres()) as url:
        chats = seed_outbox(url, sizes.limited)
        for workers in (1, 2, 3):
            with running_fake() as fake:
                fake.enforce_rate(global_per_sec=TELEGRAM_LIMIT, per_chat_per_sec=1)
                result = drain(fake, url, chats, workers)
            echo(f"30/s, {workers} worker(s): {result.per_second:.1f}/s,"
                 f" {result.too_many_requests} 429s")  # fmt: skip
            report.limited.append(result)
    with postgres_schema(require_postgres()) as url:
        chats = seed_outbox(url, sizes.fast)
        fast = {"TELEGRAM_SENDS_PER_SECOND": str(FAST_LIMIT)}
        for round_ in range(sizes.rounds):
            order = ["bare", "1", "3"] if round_ % 2 == 0 else ["3", "1", "bare"]
            for name in order:
                with running_fake() as fake:
                    if name != "bare":  # the bare loop, unpaced, may go past 1,000/s
                        fake.enforce_rate(global_per_sec=FAST_LIMIT, per_chat_per_sec=1)
                    if name == "bare":
                        asyncio.run(_bare_loop(fake, chats))
                        rate = _rate(fake)
                    else:
                        result = drain(fake, url, chats, int(name), **fast)
                        rate = result.per_second
                        report.fast_duplicates += result.duplicates
                    report.fast_429 += fake.too_many_requests
                echo(f"1,000/s round {round_ + 1}, {_LABELS[name]}: {rate:,.0f}/s")
                report.fast.setdefault(name, []).append(rate)
    report.fast = {name: report.fast[name] for name in ("bare", "1", "3")}
    return report


def _machine() -> str:
    return machine(
        "workers in webhook mode, PostgreSQL over TCP on localhost,"
        " the fake Bot API on 127.0.0.1 in the driver"
    )


def run_and_report(quick: bool, save: bool, echo: Callable[[str], None] = print) -> Report:
    """Run, print, and (full runs only) replace the table in the docs."""
    started = time.perf_counter()
    report = run(Sizes.quick() if quick else Sizes.full(), echo)
    report.notes.append(f"whole run {time.perf_counter() - started:.0f} s")
    text = report.markdown()
    echo(text)
    if save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        name = "outbox-drain-quick" if quick else "outbox-drain"
        (RESULTS_DIR / f"{name}.md").write_text(text, encoding="utf-8")
        if not quick:
            replace_section(BENCHMARKS_DOC, START, END, text)
    return report
