"""The Telegram benchmarks' results, their Markdown table and their own section of the docs.

The section has its own markers, distinct from the ledger suite's (benchmarks/results.py), so
each suite rewrites only its own table.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.docs import replace_section
from benchmarks.outbox_rate import GLOBAL_LIMIT, OutboxResult
from benchmarks.telegram_balance import BalanceResult

RATIO_GOAL = 0.7  # loyalty run ≥ 0.7 × the bare PTB bot's commands/s
LATENCY_GOAL_MS = 50.0  # p99 per /balance, at a paced load
OUTBOX_GOAL = 0.95  # ≥ 95 % of the 30/s overall limit
TELEGRAM_START = "<!-- telegram-results:start (written by python -m benchmarks telegram) -->"
TELEGRAM_END = "<!-- telegram-results:end -->"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _rounds(ratios: list[float]) -> str:
    """ ", median of N alternating rounds (low–high)" when there were rounds."""
    if not ratios:
        return ""
    return f", median of {len(ratios)} alternating rounds ({min(ratios):.2f}–{max(ratios):.2f})"


@dataclass
class TelegramReport:
    balance: BalanceResult | None = None
    outbox: OutboxResult | None = None
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines: list[str] = []
        if (b := self.balance) is not None:
            lines += [
                f"/balance end to end, {b.members:,} members in SQLite, {b.users} users:",
                "",
                "| bot | burst commands | commands/s | burst p50 / p99 ms"
                " | paced commands (per s) | paced p50 ms | paced p99 ms |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for run in (b.loyalty, b.bare):
                lines.append(
                    f"| {run.bot} | {run.commands:,} | {run.per_second:,.0f}"
                    f" | {run.burst_p50_ms:,.0f} / {run.burst_p99_ms:,.0f}"
                    f" | {run.paced} ({run.paced_rate:g}) | {run.paced_p50_ms:.1f}"
                    f" | {run.paced_p99_ms:.1f} |"
                )
            p99 = b.loyalty.paced_p99_ms
            lines += [
                "",
                f"- loyalty run / bare PTB: **{b.ratio:.2f}**{_rounds(b.round_ratios)}"
                f" (goal ≥ {RATIO_GOAL}): {_met(b.ratio >= RATIO_GOAL)}",
                f"- loyalty run p99 at the paced load: **{p99:.1f} ms** (goal"
                f" < {LATENCY_GOAL_MS:g} ms): {_met(p99 < LATENCY_GOAL_MS)}",
                "",
            ]
        if (o := self.outbox) is not None:
            share = o.per_second / GLOBAL_LIMIT
            lines += [
                "| outbox notifications | chats reached | seconds | sends/s | of 30/s"
                " | peak in 1 s | 429s |",
                "|---:|---:|---:|---:|---:|---:|---:|",
                f"| {o.notifications:,} | {o.chats:,} | {o.seconds:.1f} | {o.per_second:.1f}"
                f" | {share:.0%} | {o.peak_per_second} | {o.too_many_requests} |",
                "",
                f"- send rate **{o.per_second:.1f}/s** (goal ≥ {OUTBOX_GOAL * GLOBAL_LIMIT:g}/s):"
                f" {_met(share >= OUTBOX_GOAL)}; 429s **{o.too_many_requests}** (goal 0):"
                f" {_met(o.too_many_requests == 0)}",
                "",
            ]
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines).rstrip("\n") + "\n"

    def update_doc(self, doc: Path) -> bool:
        """Replace the table between this section's markers; False if the doc has none."""
        return replace_section(doc, TELEGRAM_START, TELEGRAM_END, self.markdown())

    def save(self, directory: Path, name: str = "telegram") -> None:
        """`name`.md (tracked) and `name`.json (git-ignored) in `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.md").write_text(self.markdown(), encoding="utf-8")
        data = {
            "balance": asdict(self.balance) if self.balance else None,
            "outbox": asdict(self.outbox) if self.outbox else None,
            "notes": self.notes,
        }
        (directory / f"{name}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
