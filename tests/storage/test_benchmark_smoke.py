"""The benchmark code runs end to end (quick mode, SQLite); timings are not asserted."""

from __future__ import annotations

from benchmarks.settings import Sizes
from benchmarks.suite import run_suite


def test_quick_benchmark_produces_a_number_for_every_row() -> None:
    report = run_suite(["sqlite"], Sizes.quick(), concurrent=False, echo=lambda _: None)

    assert {(t.engine, t.journal) for t in report.throughput} == {
        ("sqlite", "earn"),
        ("sqlite", "redeem"),
    }
    for row in report.throughput:
        assert row.core > 0 and row.handwritten > 0 and row.bare > 0
        # The statement check ran: the core and the baseline issue the same statements.
        core, hand = row.statements.split("/")
        assert core == hand
    assert [b.engine for b in report.latency] == ["sqlite"]
    assert all(b.median_ms > 0 and b.p95_ms > 0 for b in report.latency)
    assert "| sqlite |" in report.markdown()
