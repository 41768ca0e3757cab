"""The reports benchmark runs end to end (quick mode, PostgreSQL); timings are not asserted."""

from __future__ import annotations

import pytest

from benchmarks.reports import run_and_report
from tests.storage.fixtures import require_postgres


def test_quick_reports_benchmark_measures_three_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_BENCH_POSTGRES_URL", require_postgres())
    result = run_and_report(quick=True, save=False, echo=lambda _: None)
    default, history = result.periods
    assert history.journals_in_range == result.sizes.journals  # every seeded journal counts
    assert 0 < default.journals_in_range < history.journals_in_range
    for period in result.periods:
        assert len(period.cli) == len(period.cli_cached) == len(period.in_process) == 2
        assert len(period.bare) == 2
        assert all(mb > 0 for mb in period.cli_mb)
    assert "ix_lot_expiry_due" in result.indexes["whole history"]["expiring"]
    assert "| whole history | 5,000 |" in result.markdown()
