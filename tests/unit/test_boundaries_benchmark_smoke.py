"""The boundaries benchmark runs (tiny counts; its numbers are not judged here)."""

from __future__ import annotations

from benchmarks.boundaries import run_and_report


def test_the_boundaries_benchmark_produces_both_tables() -> None:
    table = run_and_report(quick=True, save=False, echo=lambda _: None)
    assert "| 10,000 |" in table and "`SlackGate`" in table
