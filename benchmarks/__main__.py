"""`python -m benchmarks [--quick] [--engine sqlite|postgresql] [--no-concurrent]`."""

from __future__ import annotations

import argparse
import sys

from benchmarks.settings import BENCHMARKS_DOC, RESULTS_DIR, Sizes
from benchmarks.suite import run_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    parser.add_argument(
        "--engine", action="append", choices=["sqlite", "postgresql"], help="repeatable"
    )
    parser.add_argument("--no-concurrent", action="store_true", help="skip the 4-client runs")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes.full()
    engines = args.engine or ["sqlite", "postgresql"]
    report = run_suite(engines, sizes, concurrent=not args.no_concurrent, echo=print)
    print(report.markdown())
    if not args.no_save:
        # Smoke-run numbers must not replace the real ones, in results/ or in the docs.
        report.save(RESULTS_DIR, "quick" if args.quick else "latest")
        if not args.quick:
            report.update_doc(BENCHMARKS_DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
