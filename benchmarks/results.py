"""Benchmark results and their Markdown rendering."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.docs import replace_section

EARN_REDEEM_GOAL = 0.5  # core ≥ half the hand-written SQL rate
BALANCE_GOAL_MS = 5.0
RESULTS_START = "<!-- results:start (written by python -m benchmarks) -->"
RESULTS_END = "<!-- results:end -->"


@dataclass(frozen=True)
class Throughput:
    """Journals per second for one workload, by the core and by its two baselines."""

    engine: str
    clients: int
    journal: str  # "earn" or "redeem"
    core: float
    handwritten: float
    bare: float
    statements: str = ""  # "core/handwritten" per journal, when traced (SQLite)

    @property
    def vs_handwritten(self) -> float:
        return self.core / self.handwritten

    @property
    def vs_bare(self) -> float:
        return self.core / self.bare


@dataclass(frozen=True)
class Latency:
    """Balance summary timings for a member with many lots."""

    engine: str
    lots: int
    calls: int
    median_ms: float
    p95_ms: float

    @classmethod
    def of(cls, engine: str, lots: int, samples: list[float]) -> Latency:
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return cls(engine, lots, len(samples), statistics.median(ordered) * 1e3, p95 * 1e3)


@dataclass
class Report:
    throughput: list[Throughput]
    latency: list[Latency]
    notes: list[str]

    def markdown(self) -> str:
        lines = [
            "| engine | clients | journal | core j/s | (a) hand-written SQL j/s"
            " | (b) bare INSERT+COMMIT/s | core/(a) | core/(b) | statements core/(a) |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for t in self.throughput:
            mark = "" if t.vs_handwritten >= EARN_REDEEM_GOAL else " ⚠"
            lines.append(
                f"| {t.engine} | {t.clients} | {t.journal} | {t.core:,.0f} | {t.handwritten:,.0f}"
                f" | {t.bare:,.0f} | {t.vs_handwritten:.2f}{mark} | {t.vs_bare:.2f}"
                f" | {t.statements or 'n/a'} |"
            )
        lines += [
            "",
            f"| engine | balance summary, member with N lots | calls | median ms | p95 ms"
            f" | goal < {BALANCE_GOAL_MS:g} ms |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for b in self.latency:
            met = "met" if b.p95_ms < BALANCE_GOAL_MS else "**missed**"
            lines.append(
                f"| {b.engine} | {b.lots:,} | {b.calls} | {b.median_ms:.2f} | {b.p95_ms:.2f}"
                f" | {met} |"
            )
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"

    def update_doc(self, doc: Path) -> bool:
        """Replace the table between the doc's result markers; False if it has none."""
        return replace_section(doc, RESULTS_START, RESULTS_END, self.markdown())

    def save(self, directory: Path, name: str = "latest") -> None:
        """`name`.md (tracked) and `name`.json (git-ignored) in `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.md").write_text(self.markdown(), encoding="utf-8")
        data = {
            "throughput": [asdict(t) for t in self.throughput],
            "latency": [asdict(b) for b in self.latency],
            "notes": self.notes,
        }
        (directory / f"{name}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def machine(setup: str, when: str = "at start") -> str:
    """The line under a table: the cores, the load average `when` (how much other work shared
    them: noisy numbers otherwise look real), Python, then what the run was set up on."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load} {when},"
        f" Python {platform.python_version()}; {setup}"
    )
