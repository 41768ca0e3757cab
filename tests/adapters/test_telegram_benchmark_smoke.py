"""The Telegram benchmarks run end to end with tiny counts; timings are not asserted."""

from __future__ import annotations

from pathlib import Path

from benchmarks.telegram_balance import BalanceSizes
from benchmarks.telegram_report import TELEGRAM_END, TELEGRAM_START
from benchmarks.telegram_suite import run_telegram

TINY = BalanceSizes(members=50, users=4, burst=8, paced=4, paced_rate=50.0, blocks=2)


def test_quick_telegram_benchmarks_produce_positive_numbers(tmp_path: Path) -> None:
    report = run_telegram(quick=True, notifications=6, balance_sizes=TINY, echo=lambda _: None)

    balance = report.balance
    assert balance is not None
    for run in (balance.loyalty, balance.bare):
        assert run.commands == TINY.burst and run.paced == TINY.paced
        assert run.per_second > 0 and run.burst_p99_ms > 0 and run.paced_p99_ms > 0
    assert balance.ratio > 0
    outbox = report.outbox
    assert outbox is not None
    assert outbox.sent == outbox.chats == 6
    assert outbox.per_second > 0 and outbox.too_many_requests >= 0

    # The section is rewritten between its own markers; the ledger table is left alone.
    doc = tmp_path / "BENCHMARKS.md"
    ledger = "<!-- results:start (written by python -m benchmarks) -->\nL\n<!-- results:end -->"
    doc.write_text(f"{ledger}\n{TELEGRAM_START}\nold\n{TELEGRAM_END}\n", encoding="utf-8")
    assert report.update_doc(doc)
    text = doc.read_text(encoding="utf-8")
    assert ledger in text and "old" not in text and "| loyalty run |" in text
