"""The Slack benchmark runs end to end in quick mode; timings are not asserted."""

from __future__ import annotations

from benchmarks.slack_kudos import Sizes, run


def test_quick_slack_benchmark_produces_positive_numbers() -> None:
    result = run(Sizes.quick(), echo=lambda _: None)
    assert result.commands == Sizes.quick().commands * Sizes.quick().rounds
    assert result.loyalty > 0 and result.bare > 0 and result.ratio > 0
    assert result.loyalty_p50_ms > 0 and result.bare_p50_ms > 0
    assert "| `loyalty run` (gift, SQLite) |" in result.markdown()
