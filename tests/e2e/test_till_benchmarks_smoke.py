"""The purchase API and CSV import benchmarks run end to end in quick mode; timings are not
asserted, only that every number is there."""

from __future__ import annotations

from benchmarks import csv_import
from benchmarks.purchase_api import Sizes, run
from tests.storage.fixtures import require_postgres


def test_quick_purchase_api_benchmark_produces_positive_numbers() -> None:
    require_postgres()
    result = run(Sizes.quick(), echo=lambda _: None)
    assert len(result.loyalty) == len(result.bare) == Sizes.quick().rounds
    assert min(result.loyalty) > 0 and min(result.bare) > 0 and result.ratio > 0
    assert "bare FastAPI + hand-written SQL" in result.markdown()


def test_quick_import_benchmark_imports_every_row() -> None:
    measured = csv_import.measure("sqlite", csv_import.QUICK_ROWS, echo=lambda _: None)
    assert (
        measured.summary
        == f"Imported {csv_import.QUICK_ROWS}, skipped 0 as duplicates, rejected 0."
    )
    assert measured.rate > 0 and measured.peak_mb > 0
    assert "| sqlite | 300 |" in csv_import.markdown([measured])
