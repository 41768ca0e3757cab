"""The same refund sent twice at once (a re-delivered update, a retried API call) is applied
once, and every caller gets the first result, never NothingToRefund or InvalidAmount."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import psycopg
import pytest

from core import refunds
from core.commands import RecordPurchase, RefundPurchase
from core.loyalty import Loyalty
from core.results import RefundResult
from storage.database import SqlDatabase
from storage.migrate import upgrade
from storage.sql import Query
from tests.storage.fixtures import _libpq, postgres_schema, require_postgres
from tests.storage.ledger_checks import (
    LedgerChecker,
    ManualClock,
    init_worker,
    make_program,
    person,
    refund_task,
)

PROCESSES = 4
ROUNDS = 5
_PID = Query("SELECT pg_backend_pid()")
_BLOCKED_BY = "SELECT COUNT(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"


@pytest.fixture
def postgres_db() -> Iterator[SqlDatabase]:
    """A migrated PostgreSQL schema: the race below needs row locks to wait on."""
    with postgres_schema(require_postgres()) as url:
        upgrade(url)
        db = SqlDatabase.from_url(url)
        try:
            yield db
        finally:
            db.dispose()


def test_a_refund_replayed_while_the_first_runs_returns_the_first_result(
    postgres_db: SqlDatabase,
) -> None:
    db, clock, program = postgres_db, ManualClock(), make_program(signup=False)
    app = Loyalty(db, program, clock)
    ann = app.enroll(person("ann")).member.id
    app.record_purchase(RecordPurchase(member_id=ann, receipt="R-1", amount_minor=50_00))
    command = RefundPurchase(receipt="R-1", refund_id="F-1")
    first_done, commit = threading.Event(), threading.Event()
    first: dict[str, Any] = {}

    def first_refund(uow: Any) -> RefundResult:
        result = refunds.refund_purchase(uow, program, command, clock.now())
        first["pid"] = uow.ledger._sql.one(_PID)[0]  # to see who waits on its locks
        first_done.set()
        assert commit.wait(30), "the test never let the first refund commit"
        return result

    def run_first() -> None:
        first["result"] = db.run(first_refund)

    def run_second() -> None:
        try:
            first["second"] = app.refund(command)
        except Exception as exc:  # reported below; a thread cannot raise into the test
            first["second"] = exc

    threads = [threading.Thread(target=run_first)]
    threads[0].start()
    assert first_done.wait(30)
    threads.append(threading.Thread(target=run_second))
    threads[1].start()
    # The second refund found no journal yet and now waits for the member's row locks.
    deadline = time.monotonic() + 30
    with psycopg.connect(_libpq(str(db.engine.url.render_as_string(False)))) as conn:
        while conn.execute(_BLOCKED_BY, (first["pid"],)).fetchone()[0] == 0:  # type: ignore[index]
            assert time.monotonic() < deadline, "the second refund never waited for the first"
            time.sleep(0.01)
    commit.set()
    for thread in threads:
        thread.join(30)
    second = first["second"]
    assert isinstance(second, RefundResult), f"the replay failed: {second!r}"
    assert second == RefundResult(**{**first["result"].__dict__, "duplicate": True})
    assert (second.points, second.from_pending) == (50, 50)
    LedgerChecker(db.engine).check()


@pytest.fixture(scope="module")
def workers() -> Iterator[ProcessPoolExecutor]:
    """Processes that send the same refunds at the same moment."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        PROCESSES,
        mp_context=context,
        initializer=init_worker,
        initargs=(context.Barrier(PROCESSES),),
    ) as pool:
        yield pool


def test_the_same_refund_from_several_processes_applies_once(
    workers: ProcessPoolExecutor, db: SqlDatabase, migrated_url: str
) -> None:
    app = Loyalty(db, make_program(signup=False), ManualClock())
    ann = app.enroll(person("ann")).member.id
    receipts = [f"R-{n}" for n in range(ROUNDS)]
    for n, receipt in enumerate(receipts):
        app.record_purchase(
            RecordPurchase(member_id=ann, receipt=receipt, amount_minor=(10 + n) * 100)
        )
    futures = [
        workers.submit(refund_task, migrated_url, receipts, PROCESSES) for _ in range(PROCESSES)
    ]
    outcomes = [future.result(timeout=120) for future in futures]
    for n, receipt in enumerate(receipts):
        round_ = [worker[n] for worker in outcomes]
        assert {kind for kind, _, _ in round_} == {"ok"}, f"{receipt}: {round_}"
        assert {points for _, points, _ in round_} == {10 + n}, f"{receipt}: {round_}"
        assert sorted(duplicate for _, _, duplicate in round_) == [False] + [True] * (
            PROCESSES - 1
        ), f"{receipt}: applied {round_}"
    facts = LedgerChecker(db.engine).check()
    assert facts.balances[ann] == (0, 0, 0)
    with db.engine.connect() as conn:
        journals = conn.exec_driver_sql("SELECT COUNT(*) FROM journal WHERE kind = 'refund'")
        assert journals.scalar_one() == ROUNDS
