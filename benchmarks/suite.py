"""Every measurement, engine by engine, into one report."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from benchmarks.databases import fresh_target
from benchmarks.results import Report, machine
from benchmarks.runner import Bench
from benchmarks.settings import Sizes, postgres_url


def run_suite(
    engines: list[str], sizes: Sizes, *, concurrent: bool, echo: Callable[[str], None]
) -> Report:
    report = Report([], [], [_machine()])
    server = postgres_url()
    for engine in engines:
        if engine == "postgresql" and (problem := _postgres_problem(server)):
            report.notes.append(f"PostgreSQL skipped: {problem}")
            continue
        started = time.perf_counter()
        with fresh_target(engine, server) as target:
            bench = Bench.open(target, sizes)
            try:
                bench.warm_up()
                report.throughput += bench.throughput()
                report.latency.append(bench.balance())
            finally:
                bench.close()
            if concurrent and engine == "postgresql":
                from benchmarks.concurrent import run_concurrent

                report.throughput += run_concurrent(target, sizes)
        echo(f"{engine}: {time.perf_counter() - started:.1f} s")
    return report


def _machine() -> str:
    return machine("SQLite file in WAL with synchronous=NORMAL; PostgreSQL over TCP on localhost")


def _postgres_problem(url: str) -> str | None:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(libpq, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None
