"""`python -m benchmarks [ledger|telegram|slack|boundaries|pos|import|all] [--quick] ...`; the
ledger suite by default.

ledger:   `[--engine sqlite|postgresql] [--no-concurrent]`
challenges: `[--engine sqlite|postgresql]`
telegram: `[--only balance|outbox] [--notifications N] [--profile DIR]`
pos:      the purchase API through `loyalty run` against a bare FastAPI endpoint (PostgreSQL)
import:   `[--rows N] [--engine sqlite|postgresql]` CSV import rows/s and peak memory
soak:     `[--seconds S] [--rounds R] [--rate N]` 1, 2 and 3 workers on PostgreSQL at a steady
          mixed load: throughput, reply latency, worker CPU per delivery, memory
nudges:   `[--members N]` nudge planning on PostgreSQL beside the bare SQL (1,000,000)
broadcasts: `[--members N]` queueing a broadcast, then delivery against the fake Bot API (100,000)
outbox:   1, 2, 3 workers on PostgreSQL draining one token's outbox (30/s and 1,000/s fakes)
reports:  `[--journals N] [--members N]` `loyalty report` over a big ledger (PostgreSQL)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.settings import BENCHMARKS_DOC, RESULTS_DIR, Sizes
from benchmarks.suite import run_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "suite",
        nargs="?",
        default="ledger",
        choices=[
            "ledger",
            "telegram",
            "slack",
            "boundaries",
            "pos",
            "import",
            "challenges",
            "soak",
            "nudges",
            "broadcasts",
            "outbox",
            "reports",
            "all",
        ],
        help="ledger (default), telegram (/balance and the outbox), slack (/kudos), boundaries"
        " (chat-line splitting and the Slack gate), pos (the purchase API), import (CSV"
        " imports), challenges (what 20 challenges cost an earn; progress table sizes), soak (1-3"
        " workers at a steady mixed load), nudges, broadcasts, reports (`loyalty report` over a"
        " big ledger), outbox (1-3 workers on PostgreSQL draining one token's outbox), all",
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    parser.add_argument(
        "--engine", action="append", choices=["sqlite", "postgresql"], help="repeatable"
    )
    parser.add_argument("--no-concurrent", action="store_true", help="skip the 4-client runs")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument(
        "--only", choices=["balance", "outbox"], help="telegram: one of the two benchmarks"
    )
    parser.add_argument(
        "--notifications", type=int, help="telegram: outbox size (3,000; --quick 300)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="telegram, slack, soak: run `loyalty run` (soak: one worker) under cProfile and phase"
        " timers, write them to DIR",
    )
    parser.add_argument("--rows", type=int, help="import: purchases in the file (50,000)")
    parser.add_argument(
        "--seconds", type=float, help="soak: measured seconds per configuration and round (60)"
    )
    parser.add_argument("--rounds", type=int, help="soak: rounds, order alternating (2)")
    parser.add_argument("--rate", type=float, help="soak: deliveries started per second (20)")
    parser.add_argument("--journals", type=int, help="reports: journals (1,000,000)")
    parser.add_argument(
        "--members",
        type=int,
        help="reports (100,000), nudges (1,000,000) and broadcasts (100,000): members",
    )
    args = parser.parse_args(argv)
    if args.suite in ("ledger", "all"):
        _ledger(args)
    if args.suite in ("telegram", "all"):
        _telegram(args)
    if args.suite in ("slack", "all"):
        _slack(args)
    if args.suite in ("boundaries", "all"):
        _boundaries(args)
    if args.suite in ("pos", "all"):
        from benchmarks.purchase_api import run_and_report

        run_and_report(quick=args.quick, save=not args.no_save, echo=print)
    if args.suite in ("import", "all"):
        from benchmarks import csv_import

        engines = args.engine or ["sqlite", "postgresql"]
        csv_import.run_and_report(
            engines=engines, rows=args.rows, quick=args.quick, save=not args.no_save, echo=print
        )
    if args.suite in ("challenges", "all"):
        _challenges(args)
    if args.suite in ("soak", "all"):
        _soak(args)
    if args.suite in ("nudges", "all"):
        from benchmarks import nudges

        nudges.run_and_report(
            quick=args.quick, members=args.members, save=not args.no_save, echo=print
        )
    if args.suite in ("broadcasts", "all"):
        from benchmarks import broadcasts

        broadcasts.run_and_report(
            quick=args.quick, members=args.members, save=not args.no_save, echo=print
        )
    if args.suite in ("outbox", "all"):
        from benchmarks.outbox_drain import run_and_report as drain_report

        drain_report(quick=args.quick, save=not args.no_save, echo=print)
    if args.suite in ("reports", "all"):
        from benchmarks import reports

        reports.run_and_report(
            quick=args.quick,
            save=not args.no_save,
            journals=args.journals,
            members=args.members,
        )
    return 0


def _ledger(args: argparse.Namespace) -> None:
    sizes = Sizes.quick() if args.quick else Sizes.full()
    engines = args.engine or ["sqlite", "postgresql"]
    report = run_suite(engines, sizes, concurrent=not args.no_concurrent, echo=print)
    print(report.markdown())
    if not args.no_save:
        # Smoke-run numbers must not replace the real ones, in results/ or in the docs.
        report.save(RESULTS_DIR, "quick" if args.quick else "latest")
        if not args.quick:
            report.update_doc(BENCHMARKS_DOC)


def _telegram(args: argparse.Namespace) -> None:
    from benchmarks.telegram_suite import profile_summary, run_telegram

    report = run_telegram(
        quick=args.quick,
        only=args.only,
        notifications=args.notifications,
        profile_dir=args.profile,
        echo=print,
    )
    print(report.markdown())
    if args.profile is not None:
        print(profile_summary(args.profile))
    # Only a complete, full-size, unprofiled run replaces the numbers in the docs.
    complete = not (args.quick or args.only or args.notifications or args.profile)
    if not args.no_save:
        report.save(RESULTS_DIR, "telegram" if complete else "telegram-partial")
        if complete:
            report.update_doc(BENCHMARKS_DOC)


def _slack(args: argparse.Namespace) -> None:
    from benchmarks.slack_kudos import run_and_report  # issue 4: /kudos through `loyalty run`
    from benchmarks.telegram_suite import profile_summary

    run_and_report(quick=args.quick, save=not args.no_save, echo=print, profile=args.profile)
    if args.profile is not None:
        print(profile_summary(args.profile))


def _boundaries(args: argparse.Namespace) -> None:
    from benchmarks.boundaries import run_and_report

    run_and_report(quick=args.quick, save=not args.no_save, echo=print)


def _challenges(args: argparse.Namespace) -> None:
    from benchmarks.challenges import run_and_report

    run_and_report(quick=args.quick, engines=args.engine, save=not args.no_save, echo=print)


def _soak(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from benchmarks.soak import Sizes as SoakSizes
    from benchmarks.soak import run_and_report

    sizes = SoakSizes.quick() if args.quick else SoakSizes.full()
    chosen = {"seconds": args.seconds, "rounds": args.rounds, "rate": args.rate}
    sizes = replace(sizes, **{k: v for k, v in chosen.items() if v is not None})
    run_and_report(sizes, quick=args.quick, save=not args.no_save, echo=print, profile=args.profile)


if __name__ == "__main__":
    sys.exit(main())
