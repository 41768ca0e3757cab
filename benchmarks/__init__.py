"""Throughput and latency benchmarks of the ledger core against hand-written SQL.

`python -m benchmarks` runs everything (see docs/BENCHMARKS.md); `--quick` is a smoke run.
"""
