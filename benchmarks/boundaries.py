"""The input boundaries' costs: splitting a chat line (ours, one linear pass, against the
shlex the bot used before, quadratic on one long word), and reading a signed Slack request
(`bot.slack.gate` against what bolt did itself: its signature check and body parser).

`python -m benchmarks boundaries [--quick] [--no-save]`. Each measurement alternates its two
sides round by round and reports the median of the rounds with their range.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from benchmarks.docs import replace_section
from benchmarks.settings import BENCHMARKS_DOC
from bot.requests import split_words
from bot.slack.gate import SlackGate, SlackHosts
from tests.fakes import slack_signing

START = "<!-- boundaries:start (written by python -m benchmarks boundaries) -->"
END = "<!-- boundaries:end -->"
REPRODUCE = ".venv/bin/python -m benchmarks boundaries"
SECRET = "bench-signing-secret"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Sizes:
    lengths: tuple[int, ...]  # chat line lengths, characters
    shlex_longest: int  # shlex is quadratic: past this it takes minutes
    rounds: int
    requests: int  # Slack requests per round and side

    @classmethod
    def full(cls) -> Sizes:
        return cls(lengths=(1_000, 10_000, 100_000, 1_000_000), shlex_longest=100_000,
                   rounds=5, requests=5_000)  # fmt: skip

    @classmethod
    def quick(cls) -> Sizes:
        return cls(lengths=(1_000, 10_000), shlex_longest=10_000, rounds=1, requests=50)


@dataclass(frozen=True)
class Timing:
    """Seconds per operation over rounds: median and range."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def shown(self, unit: float, digits: int = 1) -> str:
        low, high = min(self.samples) / unit, max(self.samples) / unit
        return f"{self.median / unit:,.{digits}f} ({low:,.{digits}f}–{high:,.{digits}f})"


SHAPES = {
    # what made `loyalty run` spend minutes: shlex builds one long word a character at a time
    "one long word": lambda length: ("/redeem " + "a" * length)[:length],
    # the quote-aware path of split_words (shlex falls back to plain words on these)
    "unclosed quotes": lambda length: ("/redeem " + '"a ' * length)[:length],
}


def _alternate(
    rounds: int, first: Callable[[], float], second: Callable[[], float] | None
) -> tuple[Timing, Timing | None]:
    """Time both sides round after round (A B, B A, ...) so load falls on both alike."""
    ours: list[float] = []
    theirs: list[float] = []
    for round_ in range(rounds):
        order = [(first, ours), (second, theirs)]
        for measure, samples in order if round_ % 2 == 0 else order[::-1]:
            if measure is not None:
                samples.append(measure())
    return Timing(tuple(ours)), Timing(tuple(theirs)) if theirs else None


def _timed(work: Callable[[], object], repeat: int = 1) -> Callable[[], float]:
    def measure() -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            work()
        return (time.perf_counter() - started) / repeat

    return measure


def split_rows(sizes: Sizes) -> list[tuple[str, int, Timing, Timing | None]]:
    """(shape, length, split_words, shlex.split) per kind of line and length."""
    rows = []
    for shape, make in SHAPES.items():
        for length in sizes.lengths:
            rows.append((shape, length, *_split_timings(sizes, make(length))))
    return rows


def _split_timings(sizes: Sizes, line: str) -> tuple[Timing, Timing | None]:
    repeat = max(1, 100_000 // len(line))
    ours = _timed(lambda: split_words(line), repeat)
    too_long = len(line) > sizes.shlex_longest
    theirs = None if too_long else _timed(lambda: _shlex(line), repeat)
    return _alternate(sizes.rounds, ours, theirs)


def _shlex(line: str) -> list[str]:
    """The old parser: shlex, then plain words when a quote is unbalanced."""
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def gate_timings(sizes: Sizes) -> tuple[Timing, Timing]:
    """Seconds per signed /kudos request: our gate against bolt's own check and parser."""
    now = int(time.time())
    body = slack_signing.slash_command_body(
        "/kudos", "<@U0BEA> 5 thanks for the demo #teamwork", user_id="U0ALI",
        response_url="https://hooks.slack.com/commands/T1/1/abc",
    )  # fmt: skip
    headers = slack_signing.sign(SECRET, body, now)
    gate = SlackGate(SECRET, SlackHosts("https://slack.com/api/"), clock=lambda: now)
    verifier = SignatureVerifier(SECRET, clock=_Clock(now))
    text = body.decode()

    def ours() -> None:
        stamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        assert gate.verified(stamp, signature, body)
        assert isinstance(gate.parse(body, FORM), dict)

    def bolts() -> None:
        stamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        assert verifier.is_valid(text, stamp, signature)
        assert parse_body(text, FORM)

    ours_timing, bolt_timing = _alternate(
        sizes.rounds, _timed(ours, sizes.requests), _timed(bolts, sizes.requests)
    )
    assert bolt_timing is not None
    return ours_timing, bolt_timing


class _Clock:
    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> float:
        return float(self._now)


def markdown(
    sizes: Sizes, rows: list[tuple[str, int, Timing, Timing | None]], gate: tuple[Timing, Timing]
) -> str:
    """The two tables for docs/BENCHMARKS.md."""
    lines = [
        f"Median of {sizes.rounds} alternating rounds (range in brackets). "
        f"Reproduce: `{REPRODUCE}`.",
        "",
        "| chat line | characters | `split_words` µs | × per 10× longer "
        "| old `shlex.split` µs | × per 10× longer |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    previous: tuple[float, float | None] | None = None
    for index, (shape, length, ours, theirs) in enumerate(rows):
        growth_ours = growth_theirs = "–"
        if index and rows[index - 1][0] != shape:
            previous = None
        if previous is not None:
            growth_ours = f"{ours.median / previous[0]:.1f}"
            if theirs is not None and previous[1] is not None:
                growth_theirs = f"{theirs.median / previous[1]:.1f}"
        old = theirs.shown(1e-6) if theirs is not None else "not run (seconds to minutes)"
        lines.append(
            f"| {shape} | {length:,} | {ours.shown(1e-6)} | {growth_ours} | {old} "
            f"| {growth_theirs} |"
        )
        previous = (ours.median, theirs.median if theirs is not None else None)
    ours, bolts = gate
    lines += [
        "",
        "| a signed /kudos request | µs per request |",
        "|---|---:|",
        f"| `SlackGate`: signature, then parse and shape checks | {ours.shown(1e-6)} |",
        f"| bolt's `SignatureVerifier.is_valid` + `parse_body` (before) | {bolts.shown(1e-6)} |",
        "",
        f"- {platform.machine()}, {os.cpu_count()} CPUs, load average {_load()} at the end, "
        f"Python {platform.python_version()}",
        "",
    ]
    return "\n".join(lines)


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def run_and_report(quick: bool, save: bool, echo: Callable[[str], None] = print) -> str:
    """Measure, print the tables, and (full runs only) replace them in docs/BENCHMARKS.md."""
    sizes = Sizes.quick() if quick else Sizes.full()
    rows = split_rows(sizes)
    table = markdown(sizes, rows, gate_timings(sizes))
    echo(table)
    if save and not quick:
        replace_section(BENCHMARKS_DOC, START, END, table)
    return table
