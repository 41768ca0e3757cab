"""The challenges benchmark runs end to end (quick mode, SQLite); timings are not asserted."""

from __future__ import annotations

from benchmarks.challenges import run_and_report


def test_quick_challenges_benchmark_measures_both_sides() -> None:
    report = run_and_report(quick=True, engines=["sqlite"], save=False, echo=lambda _: None)
    (result,) = report.earns
    assert result.engine == "sqlite" and len(result.rounds) == 2
    assert all(plain > 0 and games > 0 for plain, games in result.rounds)
    assert result.progress_rows > 0  # the challenge side really counted
    plain, games = (int(n) for n in result.statements.split("/"))
    assert games > plain  # and paid for it in statements, which the table shows
    assert report.memory is None  # PostgreSQL only
    assert "| sqlite |" in report.markdown()
