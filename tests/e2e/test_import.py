"""`loyalty import-members` and `loyalty import-purchases` as real processes, on SQLite and
PostgreSQL: good, duplicate and broken rows; a run killed halfway and run again ends exactly
where one clean run does."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.clock import SystemClock
from bot.settings import EXAMPLE_PROGRAM
from core.customers import ImportedCustomer
from core.loyalty import Loyalty
from core.program import load_program
from storage.database import SqlDatabase
from storage.engine import SQLITE_BEGIN_OPTION, create_engine_for
from storage.migrate import upgrade
from tests.storage.fixtures import fresh_database_url
from tests.storage.ledger_checks import LedgerChecker

LOYALTY = Path(sys.executable).with_name("loyalty")
CUSTOMERS = 40
KILL_ROWS = 6000


def run(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "POS_WEBHOOK_SECRET"):
        env.pop(name, None)
    return subprocess.run(
        [str(LOYALTY), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=240,
        check=False,
    )  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def customers_file(directory: Path) -> Path:
    rows: list[list[object]] = [
        [f"C-{n}", f"Customer {n}", f"user{n}", "1990-04-23", n * 10, "ignored"]
        for n in range(CUSTOMERS)
    ]
    header = ["customer_id", "name", "telegram_username", "birthday", "points", "tier"]
    return write_csv(directory / "customers.csv", header, rows)


def purchases_file(directory: Path, count: int) -> Path:
    now = datetime.now(UTC)
    rows: list[list[object]] = []
    for n in range(count):
        when = now - timedelta(days=(n * 7) % 500, hours=n % 24)  # up to 16 months ago
        rows.append([f"customer:C-{n % CUSTOMERS}", f"R-{n}", f"{5 + n % 40}.{n % 100:02d}",
                     "USD", when.isoformat(), "main-st", "store"])  # fmt: skip
    header = ["member", "receipt", "amount", "currency", "occurred_at", "store", "channel"]
    return write_csv(directory / f"purchases-{count}.csv", header, rows)


def totals(engine: Engine) -> dict[str, object]:
    """Per customer id: balances; and the whole ledger's counts."""
    facts = LedgerChecker(engine).check()
    with engine.connect() as conn:
        owners = dict(conn.exec_driver_sql(
            "SELECT member_id, external_id FROM identity WHERE platform = 'customer'"
        ).all())  # fmt: skip
        purchases = conn.exec_driver_sql("SELECT COUNT(*), SUM(points) FROM purchase").one()
    return {
        "balances": {owners[m]: b for m, b in facts.balances.items()},
        "purchases": tuple(purchases),
        "counts": {t: n for t, n in facts.counts.items() if t != "account"},
        "system": facts.system,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_good_duplicate_and_broken_rows(engine_name: str, tmp_path: Path) -> None:
    with fresh_database_url(engine_name, tmp_path) as url:
        upgrade(url)
        members = run(url, tmp_path, "import-members", str(customers_file(tmp_path)))
        assert members.returncode == 0, members.stderr
        assert f"Imported {CUSTOMERS}, skipped 0 as duplicates, rejected 0." in members.stdout
        old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
        rows: list[list[object]] = [
            ["customer:C-1", "R-1", "12.40", "USD", "", "main-st", "store"],
            ["customer:C-1", "R-2", "30.00", "USD", old, "main-st", "store"],
            ["customer:C-1", "r-1", "12.40", "USD", "", "main-st", "store"],  # duplicate
            ["customer:C-404", "R-3", "5.00", "USD", "", "", ""],  # unknown member
            ["customer:C-2", "R-4", "1.001", "USD", "", "", ""],  # sub-cent amount
            ["customer:C-2", "R-5", "5.00", "EUR", "", "", ""],  # another currency
            ["customer:C-2", "R-6", "5.00", "USD", "last week", "", ""],  # not a date
            ["customer:C-2", "R-1", "99.00", "USD", "", "", ""],  # R-1 with other data
            ["", "R-7", "5.00", "USD", "", "", ""],  # no member
        ]
        header = ["member", "receipt", "amount", "currency", "occurred_at", "store", "channel"]
        path = write_csv(tmp_path / "mixed.csv", header, rows)
        first = run(url, tmp_path, "import-purchases", str(path))
        assert first.returncode == 0, first.stderr
        assert "Imported 2, skipped 1 as duplicates, rejected 6." in first.stdout
        assert "Already expired on arrival (older than the points' lifetime): 1." in first.stdout
        assert "Traceback" not in first.stdout + first.stderr
        assert "rows/s" in first.stderr  # the progress bar
        with (tmp_path / "mixed.rejected.csv").open(encoding="utf-8") as handle:
            rejected = {int(r["line"]): r["reason"] for r in csv.DictReader(handle)}
        assert set(rejected) == {5, 6, 7, 8, 9, 10}
        assert "unknown member" in rejected[5] and "decimals" in rejected[6]
        assert "EUR" in rejected[7] and "ISO 8601" in rejected[8]
        assert "recorded before" in rejected[9] and "member is empty" in rejected[10]
        again = run(url, tmp_path, "import-purchases", str(path))
        assert "Imported 0, skipped 3 as duplicates, rejected 6." in again.stdout
        engine = create_engine_for(url)
        try:
            result = totals(engine)
        finally:
            engine.dispose()
        # C-1: 10 opening points + 12 pending; R-2 earned 30 and expired on arrival.
        assert result["balances"]["C-1"] == (10, 12, 0)  # type: ignore[index]
        assert result["system"]["expired"] == 30  # type: ignore[index]
        members_again = run(url, tmp_path, "import-members", str(customers_file(tmp_path)))
        assert f"Imported 0, skipped {CUSTOMERS} as duplicates" in members_again.stdout


def test_killed_halfway_and_run_again_equals_one_clean_run(
    engine_name: str, tmp_path: Path
) -> None:
    purchases = purchases_file(tmp_path, KILL_ROWS)
    results = []
    for attempt in ("clean", "killed"):
        with fresh_database_url(engine_name, tmp_path / attempt) as url:
            (tmp_path / attempt).mkdir(exist_ok=True)
            upgrade(url)
            _add_customers(url)
            engine = create_engine_for(url)
            try:
                if attempt == "killed":
                    _import_and_kill(url, tmp_path, purchases, engine)
                done = run(url, tmp_path, "import-purchases", str(purchases))
                assert done.returncode == 0, done.stderr
                results.append(totals(engine))
            finally:
                engine.dispose()
    clean, resumed = results
    assert resumed == clean
    assert clean["purchases"][0] == KILL_ROWS  # type: ignore[index]


def _import_and_kill(url: str, cwd: Path, purchases: Path, engine: Engine) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    process = subprocess.Popen(
        [str(LOYALTY), "import-purchases", str(purchases)],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _purchases(engine) < 250:
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.01)
        assert process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert 0 < _purchases(engine) < KILL_ROWS


def _add_customers(url: str) -> None:
    """The customer list, imported in this process (the CLI import is tested above)."""
    db = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(db, load_program(EXAMPLE_PROGRAM), SystemClock())
        loyalty.import_customers(
            [ImportedCustomer(customer_id=f"C-{n}", name=f"Customer {n}", points=n * 10)
             for n in range(CUSTOMERS)]
        )  # fmt: skip
    finally:
        db.dispose()


def _purchases(engine: Engine) -> int:
    # A read transaction: our SQLite engine would otherwise take the write lock the import needs.
    with engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}) as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM purchase").scalar_one())
